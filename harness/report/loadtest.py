"""The load test (issue 6) as the report sees it: where more concurrency stops paying,
how big a worker must be, whether memory grows task after task, whether Cosmos's own
debug figure can be trusted, and what memory-optimised imports do in each Cosmos release.

Each function reads the grouped samples of a run (harness.compare.samples) and returns
plain dataclasses; harness.report.render_load formats them for the templates. A run
without the records of a section gives an empty list for it.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, Spread, compare_samples, spread
from harness.report import guide
from harness.report.common import (
    MIB,
    axes_key,
    config_label,
    scenario_size,
    size_sort_key,
    varying_axes,
)

MIN_GAIN = 0.10
"""More concurrency "pays" while the next value measured cuts the median wall time by
at least this fraction."""

VERSION_PHASES = ("import", "dag_parse")
MIN_WORKER_PRECISION = 0.05
"""The bisection's target (harness.run.min_worker.PRECISION): a limit known to within 5%."""
MIN_WORKER_NAMED = ("execution_mode", "execution_invocation", "load_mode", "concurrency")
"""The options the smallest-worker table has a column for (besides the size)."""
# How each phase is ordered in the tables.
_PHASE_ORDER = {p: i for i, p in enumerate(("import", "dag_parse", "task", "dag_run"))}


def _numbers(values: Iterable[Any]) -> list[float]:
    """The numeric values (JSON may hold None or text where a figure was not read)."""
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _spread_of(values: list[float]) -> Spread | None:
    return spread(values) if values else None


# ---------------------------------------------------------------- concurrency sweep
@dataclass(frozen=True)
class SweepPoint:
    """One concurrency of a sweep: the spread of each metric over its ok repetitions."""

    concurrency: int
    scenario_id: str
    n_ok: int
    n: int
    time: Spread | None
    """Wall time of the whole measurement (the `airflow dags test` tree)."""
    memory: Spread | None
    slots: Spread | None
    dag_run_s: Spread | None
    """The DagRun's own duration from the metadata database (no CLI start-up)."""


@dataclass(frozen=True)
class Sweep:
    """The dag_run scenarios of one configuration and size that differ only in concurrency."""

    size: int | str | None
    label: str
    points: tuple[SweepPoint, ...]
    """In ascending concurrency."""
    stops_after: int | None
    """The smallest concurrency beyond which the next one measured improves the median
    wall time by less than MIN_GAIN, worsens it or fails; None: every step still pays."""
    next_ratio: float | None
    """Median wall time at the next concurrency / at ``stops_after`` (None: it failed)."""

    @property
    def next_concurrency(self) -> int | None:
        """The concurrency measured after ``stops_after``."""
        values = [p.concurrency for p in self.points]
        if self.stops_after is None:
            return None
        i = values.index(self.stops_after)
        return values[i + 1] if i + 1 < len(values) else None


def stops_paying(points: Iterable[SweepPoint]) -> tuple[int | None, float | None]:
    """(concurrency, ratio) where more concurrency stops paying (see Sweep.stops_after);
    ``points`` in ascending concurrency."""
    for a, b in itertools.pairwise(points):
        if a.time is None:
            continue  # nothing to improve on: this concurrency failed
        if b.time is None:
            return a.concurrency, None
        ratio = b.time.median / a.time.median
        if ratio > 1.0 - MIN_GAIN:
            return a.concurrency, ratio
    return None, None


def _sweep_point(s: ScenarioSamples) -> SweepPoint:
    ok = [r for r in s.records if r.status == "ok"]
    return SweepPoint(
        int(s.axes["concurrency"]),
        s.scenario_id,
        s.n_ok,
        sum(s.statuses.values()),
        _spread_of(s.values.get("time", [])),
        _spread_of(s.values.get("memory", [])),
        _spread_of(s.values.get("slots", [])),
        _spread_of(_numbers(r.figures.get("dag_run_s") for r in ok)),
    )


def concurrency_sweeps(scenarios: dict[str, ScenarioSamples]) -> list[Sweep]:
    """Every configuration and size of dag_run measured at two concurrencies or more."""
    of = [s for s in scenarios.values() if s.phase == "dag_run" and s.axes.get("concurrency")]
    axes = [a for a in varying_axes(of) if a != "concurrency"]
    groups: dict[tuple[tuple[str, str], ...], list[ScenarioSamples]] = {}
    for s in of:
        groups.setdefault(axes_key(s.axes, ("concurrency",)), []).append(s)
    out = []
    for group in groups.values():
        if len({s.axes["concurrency"] for s in group}) < 2:
            continue
        points = tuple(sorted((_sweep_point(s) for s in group), key=lambda p: p.concurrency))
        stop, ratio = stops_paying(points)
        out.append(
            Sweep(scenario_size(group[0]), config_label(group[0].config, axes), points, stop, ratio)
        )
    return sorted(out, key=lambda w: (size_sort_key(w.size), w.label))


def machine_cores(info: dict[str, Any]) -> int | None:
    """The logical core count of the machine the run was measured on (run.json)."""
    m = info.get("machine") or {}
    cores = m.get("cores_logical") or m.get("cores")
    return int(cores) if isinstance(cores, int | float) else None


# ---------------------------------------------------------------- smallest worker
@dataclass(frozen=True)
class Probe:
    """One DAG run of the bisection under a limit (None: no limit)."""

    limit_mib: float | None
    status: str
    peak_mib: float | None
    wall_s: float | None


@dataclass(frozen=True)
class MinWorker:
    """One bisection (one min_worker record)."""

    scenario_id: str
    repetition: int
    size: int | str | None
    axes: dict[str, Any]
    status: str
    reason: str | None
    min_limit_mib: float | None
    """The smallest limit tried under which the run succeeded."""
    max_failing_limit_mib: float | None
    """The largest limit tried under which it failed (0: taken to fail, never tried)."""
    precision: float | None
    """(min - max failing) / min when the bisection ended."""
    converged: bool | None
    """Whether ``precision`` reached MIN_WORKER_PRECISION within the allowed steps."""
    unlimited_peak_mib: float | None
    probes: tuple[Probe, ...]
    other: str = ""
    """Options that vary among the bisections besides the ones the report names."""


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def min_workers(scenarios: dict[str, ScenarioSamples]) -> list[MinWorker]:
    """Every min_worker record, ordered by size then scenario."""
    of = [s for s in scenarios.values() if s.phase == "min_worker"]
    other = [a for a in varying_axes(of) if a not in MIN_WORKER_NAMED]
    out = []
    for s in of:
        for r in s.records:
            f = r.figures
            probes = tuple(
                Probe(
                    _float(p.get("limit_mib")),
                    str(p.get("status")),
                    _float(p.get("peak_mib")),
                    _float(p.get("wall_s")),
                )
                for p in f.get("probes") or []
                if isinstance(p, dict)
            )
            converged = f.get("converged")
            out.append(
                MinWorker(
                    s.scenario_id,
                    r.repetition,
                    scenario_size(s),
                    s.config,
                    r.status,
                    r.reason,
                    _float(f.get("min_limit_mib")),
                    _float(f.get("max_failing_limit_mib")),
                    _float(f.get("precision")),
                    converged if isinstance(converged, bool) else None,
                    _float(f.get("unlimited_peak_mib")),
                    probes,
                    config_label(s.config, other) if other else "",
                )
            )
    return sorted(out, key=lambda m: (size_sort_key(m.size), m.scenario_id, m.repetition))


# ---------------------------------------------------------------- leak check
@dataclass(frozen=True)
class Soak:
    """One soak record: the growth fit the soak phase made of its RSS series."""

    scenario_id: str
    repetition: int
    size: int | str | None
    invocation: str | None
    partial_parse: bool | None
    status: str
    reason: str | None
    figures: dict[str, Any]
    """The record's figures as the soak phase wrote them (growth_per_task_kib, ...)."""

    @property
    def label(self) -> str:
        """The invocation and the parse, e.g. "DBT_RUNNER, partial parse"."""
        if self.partial_parse is None:
            return str(self.invocation)
        return f"{self.invocation}, {'partial' if self.partial_parse else 'full'} parse"

    @property
    def rss_mib(self) -> list[float]:
        """RSS after each task (index 0: before the first), MiB."""
        return _numbers(self.figures.get("rss_mib") or [])

    @property
    def warmup(self) -> int:
        """Tasks the fit left out."""
        return int(self.figures.get("warmup_tasks") or 0)

    @property
    def growth_kib(self) -> float | None:
        """Least-squares growth of RSS per task after the warm-up, KiB."""
        return _float(self.figures.get("growth_per_task_kib"))

    @property
    def leak(self) -> bool | None:
        """The soak phase's flag: growth above 1 MiB per task."""
        flag = self.figures.get("leak_flag")
        return flag if isinstance(flag, bool) else None


def soaks(scenarios: dict[str, ScenarioSamples]) -> list[Soak]:
    """Every soak record, ordered by size, invocation and partial parse."""
    out = []
    for s in scenarios.values():
        if s.phase != "soak":
            continue
        for r in s.records:
            f = r.figures
            size = f.get("models") if isinstance(f.get("models"), int) else scenario_size(s)
            invocation = s.axes.get("execution_invocation") or f.get("invocation")
            pp = s.axes.get("partial_parse", f.get("partial_parse"))
            out.append(
                Soak(
                    s.scenario_id,
                    r.repetition,
                    size,
                    invocation,
                    pp if isinstance(pp, bool) else None,
                    r.status,
                    r.reason,
                    f.to_dict(),
                )
            )
    return sorted(
        out,
        key=lambda k: (
            size_sort_key(k.size),
            str(k.invocation),
            not k.partial_parse,
            k.scenario_id,
            k.repetition,
        ),
    )


# ---------------------------------------------------------------- debug mode checked
@dataclass(frozen=True)
class DebugCheck:
    """Cosmos's debug figure of one scenario against the harness's peak of the same tree."""

    scenario_id: str
    phase: str
    size: int | str | None
    poll_s: float | None
    repetitions: int
    tasks: int
    """The most tasks that reported a figure in one repetition."""
    cosmos_mib: float
    """Median over the repetitions of Cosmos's largest figure (its "MB" are MiB)."""
    measured: float
    """Median over the repetitions of the harness's peak of the tree, bytes."""
    errors: tuple[float, ...]
    """Per repetition: Cosmos's figure / the harness's peak - 1."""
    overhead: guide.Pair | None
    """This scenario against its twin without debug mode (time and memory it adds)."""

    @property
    def error(self) -> float:
        """Median error over the repetitions."""
        return statistics.median(self.errors)


@dataclass(frozen=True)
class PollSummary:
    """The task phase at one debug poll interval, over every scenario."""

    poll_s: float | None
    scenarios: int
    errors: tuple[float, ...]
    """Every repetition's error (see DebugCheck.errors)."""
    time: guide.Cell | None
    memory: guide.Cell | None
    """What debug mode adds: the change against the twin without it, over the pairs."""


def debug_pairs(scenarios: dict[str, ScenarioSamples]) -> list[guide.Pair]:
    """Debug mode on against off: the guide's own pairs (option 7)."""
    (option,) = [o for o in guide.OPTIONS if o.key == "debug_mode"]
    return guide.find_pairs(option, scenarios)


def debug_checks(
    scenarios: dict[str, ScenarioSamples], pairs: list[guide.Pair]
) -> list[DebugCheck]:
    """Every scenario with Cosmos's debug figure, its error and its cost."""
    by_with = {p.with_id: p for p in pairs}
    out = []
    for s in scenarios.values():
        items = []
        for r in s.records:
            values = r.figures.get("cosmos_debug_max_memory_mb")
            if r.status != "ok" or not isinstance(values, dict) or r.measure is None:
                continue
            numbers = _numbers(values.values())
            if numbers and r.measure.peak_tree_bytes:
                items.append((max(numbers), float(r.measure.peak_tree_bytes), len(numbers)))
        if not items:
            continue
        poll = _float(s.axes.get("debug_poll_s"))
        out.append(
            DebugCheck(
                s.scenario_id,
                s.phase,
                scenario_size(s),
                poll,
                len(items),
                max(i[2] for i in items),
                statistics.median(i[0] for i in items),
                statistics.median(i[1] for i in items),
                # cosmos/debug.py divides by 1024 twice: its "MB" are MiB
                tuple(i[0] * MIB / i[1] - 1.0 for i in items),
                by_with.get(s.scenario_id),
            )
        )
    return sorted(
        out,
        key=lambda d: (
            _PHASE_ORDER.get(d.phase, 9),
            size_sort_key(d.size),
            -(d.poll_s or 0),
            d.scenario_id,
        ),
    )


def poll_summaries(checks: list[DebugCheck], pairs: list[guide.Pair]) -> list[PollSummary]:
    """The task phase's error and cost per poll interval (the longest interval first)."""
    polls = sorted({c.poll_s for c in checks if c.phase == "task"}, key=lambda p: -(p or 0))
    out = []
    for poll in polls:
        at = [c for c in checks if c.phase == "task" and c.poll_s == poll]
        ids = {c.scenario_id for c in at}
        cost = [p for p in pairs if p.with_id in ids]
        out.append(
            PollSummary(
                poll,
                len(at),
                tuple(e for c in at for e in c.errors),
                guide.cell(cost, "time"),
                guide.cell(cost, "memory"),
            )
        )
    return out


# ---------------------------------------------------------------- Cosmos versions
@dataclass(frozen=True)
class VersionRow:
    """One phase, size, Cosmos release and other configuration: the flag off and on."""

    phase: str
    size: int | str | None
    version: str | None
    """None: the locked environment's Cosmos."""
    label: str
    """The other options that vary among these scenarios."""
    off: ScenarioSamples | None
    on: ScenarioSamples | None
    memory: Change | None
    time: Change | None
    """median(on) / median(off), with significance (None without both sides)."""


def _change(off: ScenarioSamples | None, on: ScenarioSamples | None, metric: str) -> Change | None:
    if off is None or on is None or not off.values.get(metric) or not on.values.get(metric):
        return None
    return compare_samples(off.values[metric], on.values[metric])


def version_rows(scenarios: dict[str, ScenarioSamples]) -> list[VersionRow]:
    """import and dag_parse, flag off and on, in each Cosmos release measured; empty
    unless the run measured a release other than the locked one."""
    of = [
        s
        for s in scenarios.values()
        if s.phase in VERSION_PHASES and "memory_optimised_imports" in s.axes
    ]
    if not any(s.axes.get("cosmos_version") for s in of):
        return []
    flag = "memory_optimised_imports"
    out = []
    for phase in VERSION_PHASES:
        at = [s for s in of if s.phase == phase]
        axes = [a for a in varying_axes(at) if a not in (flag, "cosmos_version")]
        groups: dict[tuple[tuple[str, str], ...], dict[bool, ScenarioSamples]] = {}
        for s in at:
            groups.setdefault(axes_key(s.axes, (flag,)), {})[bool(s.axes[flag])] = s
        for sides in groups.values():
            first = next(iter(sides.values()))
            off, on = sides.get(False), sides.get(True)
            out.append(
                VersionRow(
                    phase,
                    scenario_size(first),
                    first.axes.get("cosmos_version"),
                    config_label(first.config, axes) if axes else "",
                    off,
                    on,
                    _change(off, on, "memory"),
                    _change(off, on, "time"),
                )
            )
    return sorted(
        out,
        key=lambda v: (
            _PHASE_ORDER[v.phase],
            size_sort_key(v.size),
            v.label,
            v.version is None,
            v.version or "",
        ),
    )
