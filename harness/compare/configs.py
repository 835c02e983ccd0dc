"""Sizes and configurations of grouped scenarios (harness.compare.samples): their order,
labels and hashable keys, the executor they ran on, and which succeeded. The memory guide,
the verdicts and the report's sections all name and order scenarios by these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.compare.samples import ScenarioSamples
from harness.registry import PHASES
from harness.registry.values import AxisValues

CELERY = "celery"
"""The executor axis's value of a CeleryExecutor run (harness.registry.axes.EXECUTORS)."""


def on_celery(config: dict[str, Any]) -> bool:
    """Whether a configuration ran its tasks on Celery workers (the executor axis)."""
    return AxisValues.of(config).executor == CELERY


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


PHASE_ORDER = {name: i for i, name in enumerate(PHASES)}
"""How phases are ordered in the report's tables: the registry's order."""


def successful(s: ScenarioSamples) -> bool:
    """Every repetition of ``s`` succeeded with a peak and a time: the configurations the
    summary, the guide, the recommendations and the Pareto plots all consider."""
    total = sum(s.statuses.values())
    return bool(total and s.n_ok == total and s.values.get("memory") and s.values.get("time"))
