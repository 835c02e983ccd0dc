"""Small helpers shared by the report's sections: sizes, configuration labels, units,
and the text of a measured change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from harness.compare.format import fmt_percent, fmt_seconds
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, Spread
from harness.registry import PHASES

if TYPE_CHECKING:  # guide imports this module
    from harness.report.guide import Cell

MIB = 1024 * 1024
GIB = 1024 * MIB
CELERY = "celery"
"""The executor axis's value of a CeleryExecutor run (harness.registry.axes.EXECUTORS)."""


def on_celery(config: dict[str, Any]) -> bool:
    """Whether a configuration ran its tasks on Celery workers (the executor axis)."""
    return config.get("executor") == CELERY


def without_celery(scenarios: dict[str, ScenarioSamples]) -> dict[str, ScenarioSamples]:
    """The scenarios that ran the LocalExecutor: a Celery run's own peak is the scheduler
    loop's alone (its tasks ran in the workers' cgroups), no whole run's figure."""
    return {k: s for k, s in scenarios.items() if not on_celery(s.config)}


def size_sort_key(size: int | str | None) -> tuple[int, int, str]:
    """No project first, then model counts ascending, then user projects by name."""
    if size is None:
        return (0, 0, "")
    if isinstance(size, int):
        return (1, size, "")
    return (2, 0, size)


def size_label(size: int | str | None) -> str:
    """A size as text: "no project" (import), "100 models", or a user project's path."""
    if size is None:
        return "no project"
    return f"{size} models" if isinstance(size, int) else str(size)


def sorted_sizes(sizes: Iterable[int | str | None]) -> list[int | str | None]:
    """Distinct sizes in report order."""
    return sorted(set(sizes), key=size_sort_key)


def fmt_axis(name: str, value: Any) -> str:
    """An axis value as text, e.g. "partial_parse=on", "load_mode=DBT_LS"."""
    if isinstance(value, bool):
        value = "on" if value else "off"
    return f"{name}={value}"


def varying_axes(scenarios: Iterable[ScenarioSamples]) -> list[str]:
    """Option axes that take more than one value among ``scenarios`` (in first-seen order)."""
    seen: dict[str, set[str]] = {}
    for s in scenarios:
        for k, v in s.config.items():
            seen.setdefault(k, set()).add(repr(v))
    return [k for k, vals in seen.items() if len(vals) > 1]


ConfigKey = tuple[tuple[str, str], ...]
"""A configuration's axis values, hashable (axes_key)."""


def axes_key(axes: dict[str, Any], drop: Iterable[str] = ()) -> ConfigKey:
    """The axis values of a scenario but ``drop``, hashable: equal keys are twins."""
    dropped = set(drop)
    return tuple(sorted((k, repr(v)) for k, v in axes.items() if k not in dropped))


def config_label(config: dict[str, Any], axes: list[str]) -> str:
    """The values of ``axes`` in ``config`` (the ones that tell configurations apart)."""
    parts = [fmt_axis(k, config.get(k)) for k in axes if config.get(k) is not None]
    return ", ".join(parts) or "(the only configuration)"


def fmt_mib(value: float) -> str:
    """Bytes as MiB."""
    return f"{value / MIB:.0f} MiB"


fmt_s = fmt_seconds


def fmt_pct(ratio: float) -> str:
    """A ratio as a signed whole percent."""
    return fmt_percent(ratio, digits=0)


def fmt_spread(sp: Spread, unit: str) -> str:
    """Median and interquartile range of one sample; ``unit`` "bytes" or "s"."""
    fmt = fmt_mib if unit == "bytes" else fmt_s
    if sp.n == 1:
        return f"{fmt(sp.median)} (n=1)"
    return f"{fmt(sp.median)} (IQR {fmt(sp.q1)}-{fmt(sp.q3)}, n={sp.n})"


def change_text(metric: str, c: Change) -> str:
    """ "memory 308 MiB (IQR ..., n=5) vs 210 MiB (...): +46% (CI ...)": new vs base."""
    spread = ""
    if c.ci_low is not None and c.ci_high is not None:
        spread = f" (CI {fmt_pct(c.ci_low)}..{fmt_pct(c.ci_high)})"
    unit = "bytes" if metric == "memory" else "s"
    sides = f"{fmt_spread(c.new, unit)} vs {fmt_spread(c.base, unit)}"
    return f"{metric} {sides}: {fmt_pct(c.ratio)}{spread}"


def cell_text(metric: str, cell: Cell) -> str:
    """A change summarised over pairs: "memory -35% (CI -40%..-30%)" or its range."""
    if cell.note == "CI":
        spread = f" (CI {fmt_pct(cell.low or 1)}..{fmt_pct(cell.high or 1)})"
    elif cell.note == "range":
        spread = f" ({cell.n_pairs} pairs: {fmt_pct(cell.low or 1)}..{fmt_pct(cell.high or 1)})"
    else:
        spread = " (n=1)"
    return f"{metric} {fmt_pct(cell.ratio)}{spread}"


PHASE_ORDER = {name: i for i, name in enumerate(PHASES)}
"""How phases are ordered in the report's tables: the registry's order."""


def successful(s: ScenarioSamples) -> bool:
    """Every repetition of ``s`` succeeded with a peak and a time: the configurations the
    summary, the guide, the recommendations and the Pareto plots all consider."""
    total = sum(s.statuses.values())
    return bool(total and s.n_ok == total and s.values.get("memory") and s.values.get("time"))
