"""Each DAG parse against Airflow's own limits: dagbag_import_timeout (30 s by default)
and dag_file_processor_timeout (50 s). A DAG file whose parse passes one fails in a
real deployment; the parse phase records the limits in force, Airflow's own parse
duration, the margin left and a flag ("passed", or "near" past 80% of a limit:
harness.run.recipes.parse_probe)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.compare.configs import config_label, size_sort_key, varying_axes
from harness.compare.samples import ScenarioSamples
from harness.registry.names import PARSE
from harness.store import figures as fig
from harness.store.record import Record


@dataclass(frozen=True)
class ParseMargin:
    """One configuration and size of the parse: its least margin under each limit."""

    size: int | str | None
    label: str
    scenario_id: str
    airflow_parse_s: float | None
    """The longest of the repetitions, as Airflow reports the file's parse."""
    margins: dict[str, float]
    """Limit name -> the least seconds left under it (negative: passed)."""
    limits: dict[str, float]
    flags: tuple[str, ...]
    """ "passed" or "near" for each repetition flagged."""
    repetitions: int

    @property
    def least(self) -> float:
        """The smallest margin under any limit."""
        return min(self.margins.values()) if self.margins else float("inf")


def limit_margins(
    records: list[Record],
) -> tuple[dict[str, float], dict[str, float], tuple[str, ...]]:
    """The parse records' least margin under each limit, the limits in force and the
    flags of the repetitions flagged. A parse that passed a limit failed: its limit,
    margin and flag still count, so every record is read, not only the successful."""
    margins: dict[str, float] = {}
    limits: dict[str, float] = {}
    for r in records:
        for name, left in (r.figs.timeout_margin or {}).items():
            if fig.number(left) is not None:
                margins[name] = min(margins.get(name, float(left)), float(left))
        for name, limit in (r.figs.limits or {}).items():
            if fig.number(limit) is not None:
                limits[name] = float(limit)
    flags = tuple(str(f) for r in records if (f := r.figs.timeout_flag))
    return margins, limits, flags


def parse_margins(scenarios: dict[str, ScenarioSamples]) -> list[ParseMargin]:
    """Every parse scenario with a recorded margin, the closest to a limit first."""
    of = [s for s in scenarios.values() if s.phase == PARSE]
    axes = varying_axes(of)
    out = []
    for s in of:
        margins, limits, flags = limit_margins(s.records)
        if not margins:
            continue
        parse = fig.numbers(r.figs.airflow_parse_s for r in s.records)
        out.append(ParseMargin(s.size, config_label(s.config, axes), s.scenario_id,
                               max(parse) if parse else None, margins, limits, flags,
                               len(s.records)))  # fmt: skip
    return sorted(out, key=lambda m: (m.least, size_sort_key(m.size)))
