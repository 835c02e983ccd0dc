"""Recommendations: for each project size, the configuration with the lowest peak
memory, the fastest, and the fastest that fits a worker of 1, 2 and 4 GiB; and
Cosmos's cost over a plain `dbt build` of the same project.

A configuration is considered only when every one of its repetitions succeeded;
"fits" means the smallest worker a min_worker bisection of the same configuration
and size found is within the worker's memory, or, where none was run, that every
repetition's peak stayed within it (a peak that counts page cache overstates the
need: the bisection is the measured answer).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from harness.compare.configs import (
    axes_key,
    config_label,
    size_sort_key,
    sorted_sizes,
    successful,
    varying_axes,
)
from harness.compare.format import GIB, MIB
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import compare_samples
from harness.guide.rows import MIN_EFFECT
from harness.verdicts.minworker import min_workers

WORKER_GIB = (1, 2, 4)


@dataclass(frozen=True)
class Candidate:
    """One configuration at one size: medians over its repetitions (and task roles)."""

    label: str
    memory: float
    """median peak memory (bytes); for the task phase the largest over the sampled tasks."""
    max_memory: float
    """largest peak over the repetitions: what a worker must hold."""
    time: float
    scenario_ids: tuple[str, ...]
    smallest_worker: float | None = None
    """The smallest worker (bytes) under which a min_worker bisection saw it succeed."""
    values: dict[str, tuple[float, ...]] = field(default_factory=dict, compare=False)
    """metric -> the repetitions' values (of the heaviest sampled task), for significance."""
    config: dict[str, Any] = field(default_factory=dict, compare=False)
    """The configuration's option values (without the project and task role)."""

    @property
    def need(self) -> float:
        """The memory a worker must have: the measured smallest worker, else the largest peak."""
        return self.smallest_worker if self.smallest_worker is not None else self.max_memory


@dataclass(frozen=True)
class Recommendation:
    """The picks at one size of one phase."""

    phase: str
    size: int | str | None
    candidates: int
    lowest_memory: Candidate
    fastest: Candidate
    fits: dict[int, Candidate | None]
    """worker GiB -> fastest configuration whose every peak fits."""
    pool: tuple[Candidate, ...] = ()
    """Every candidate at this size (to find the ones tied with a pick)."""


ConfigKey = tuple[tuple[str, str], ...]


def _config_key(config: dict[str, Any]) -> ConfigKey:
    # A DAG run's limit does not change what it needs; min_worker has no such axis.
    return axes_key(config, drop=("worker_limit_mib",))


def smallest_workers(
    scenarios: dict[str, ScenarioSamples],
) -> dict[tuple[int | str | None, ConfigKey], float]:
    """(size, configuration) -> the smallest worker (bytes) its min_worker bisections
    found; the largest over repetitions, so that every one of them fits."""
    out: dict[tuple[int | str | None, ConfigKey], float] = {}
    for m in min_workers(scenarios):
        if m.status != "ok" or m.min_limit_mib is None:
            continue
        key = (m.size, _config_key(m.axes))
        out[key] = max(out.get(key, 0.0), m.min_limit_mib * MIB)
    return out


def candidates(
    scenarios: list[ScenarioSamples],
    workers: dict[tuple[int | str | None, ConfigKey], float] | None = None,
) -> dict[int | str | None, list[Candidate]]:
    """Fully successful configurations per size; task roles of one configuration are
    merged. ``workers``: smallest_workers() of the run, for DAG runs."""
    axes = varying_axes(scenarios)
    groups: dict[tuple[int | str | None, str], list[ScenarioSamples]] = {}
    for s in scenarios:
        groups.setdefault((s.size, config_label(s.config, axes)), []).append(s)
    out: dict[int | str | None, list[Candidate]] = {}
    for (size, label), group in groups.items():
        if not all(successful(s) for s in group):
            continue
        heaviest = max(group, key=lambda s: statistics.median(s.values["memory"]))
        out.setdefault(size, []).append(
            Candidate(
                label,
                max(statistics.median(s.values["memory"]) for s in group),
                max(max(s.values["memory"]) for s in group),
                max(statistics.median(s.values["time"]) for s in group),
                tuple(s.scenario_id for s in group),
                (workers or {}).get((size, _config_key(group[0].config))),
                {m: tuple(v) for m, v in heaviest.values.items()},
                heaviest.config,
            )
        )
    return out


NOISE = "within the noise"
"""A tie: the two were compared (repetitions on a side) and differ by no significant
change beyond guide.MIN_EFFECT."""
UNTESTED = "untested against each other"
"""A tie by default: one repetition against one, so nothing was compared."""


def tie_kind(best: Candidate, other: Candidate, metric: str) -> str | None:
    """NOISE or UNTESTED when ``other`` cannot be told worse than ``best`` in ``metric``;
    None when it is significantly worse (or is ``best``, or lacks the metric)."""
    if other is best or not other.values.get(metric) or not best.values.get(metric):
        return None
    change = compare_samples(list(best.values[metric]), list(other.values[metric]))
    if change.significant is None:
        return UNTESTED
    if not change.significant or change.ratio < 1.0 + MIN_EFFECT:
        return NOISE
    return None


def ties(best: Candidate, others: list[Candidate], metric: str) -> list[Candidate]:
    """The candidates not significantly worse than ``best`` in ``metric`` (nor by more
    than guide.MIN_EFFECT), or never compared with it: where the choice is "either"."""
    return [c for c in others if tie_kind(best, c, metric) is not None]


def tie_text(best: Candidate, tied: list[Candidate], metric: str) -> str:
    """How ``tied`` stand against ``best``: "within the noise" when every one was
    compared, "untested against each other" when none was, else both counts."""
    kinds = [tie_kind(best, c, metric) for c in tied]
    untested = kinds.count(UNTESTED)
    if not untested:
        return NOISE
    if untested == len(kinds):
        return UNTESTED
    return f"{len(kinds) - untested} {NOISE}, {untested} {UNTESTED}"


def recommend(scenarios: dict[str, ScenarioSamples], phase: str) -> list[Recommendation]:
    """Recommendations for every size measured in ``phase`` (dag_run or task)."""
    of_phase = [s for s in scenarios.values() if s.phase == phase]
    by_size = candidates(of_phase, smallest_workers(scenarios) if phase == "dag_run" else None)
    out = []
    for size in sorted_sizes(by_size):
        cands = by_size[size]
        fits: dict[int, Candidate | None] = {}
        for gib in WORKER_GIB:
            fitting = [c for c in cands if c.need <= gib * GIB]
            fits[gib] = min(fitting, key=lambda c: c.time) if fitting else None
        out.append(
            Recommendation(
                phase,
                size,
                len(cands),
                min(cands, key=lambda c: c.memory),
                min(cands, key=lambda c: c.time),
                fits,
                tuple(cands),
            )
        )
    return out


@dataclass(frozen=True)
class Cost:
    """Cosmos's dag_run against plain `dbt build` for one execution mode at one size."""

    size: int | str | None
    execution_mode: str
    configurations: int
    dbt_time: float
    dbt_memory: float
    dbt_threads: int | None
    time_ratios: tuple[float, float]
    """(lowest, highest) over the mode's configurations: dag_run median / dbt build median."""
    memory_ratios: tuple[float, float]


def cosmos_cost(scenarios: dict[str, ScenarioSamples]) -> list[Cost]:
    """Time and memory ratios of every dag_run against the dbt_baseline of its size.

    The baseline with the same concurrency (dbt --threads) is preferred; otherwise
    the size's first baseline stands in and its thread count is shown."""
    base: dict[int | str | None, list[ScenarioSamples]] = {}
    for s in scenarios.values():
        if s.phase == "dbt_baseline" and s.values.get("time") and s.values.get("memory"):
            base.setdefault(s.size, []).append(s)
    rows: dict[tuple[int | str | None, str], list[tuple[float, float, ScenarioSamples]]] = {}
    for s in scenarios.values():
        if s.phase != "dag_run" or s.size not in base or not s.values.get("time"):
            continue
        if not s.values.get("memory"):
            continue
        same = [b for b in base[s.size] if b.ax.concurrency == s.ax.concurrency]
        b = (same or base[s.size])[0]
        rows.setdefault((s.size, str(s.ax.execution_mode)), []).append(
            (
                statistics.median(s.values["time"]) / statistics.median(b.values["time"]),
                statistics.median(s.values["memory"]) / statistics.median(b.values["memory"]),
                b,
            )
        )
    out = []
    for (size, mode), items in sorted(
        rows.items(), key=lambda kv: (size_sort_key(kv[0][0]), kv[0][1])
    ):
        b = items[0][2]
        t = [i[0] for i in items]
        m = [i[1] for i in items]
        out.append(
            Cost(
                size,
                mode,
                len(items),
                statistics.median(b.values["time"]),
                statistics.median(b.values["memory"]),
                b.ax.concurrency,
                (min(t), max(t)),
                (min(m), max(m)),
            )
        )
    return out
