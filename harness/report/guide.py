"""The memory guide, measured: the seven options of Cosmos's "Memory Optimization
Options" page (../shared/reference/cosmos-memory-optimization.txt), what the guide
says each does, the axis contrast that measures it, and a verdict.

A contrast pairs scenarios of one phase that differ only in the option's axis
(and in the axes the option makes irrelevant, e.g. the dbt ls cache state for
DBT_MANIFEST). For each pair and metric the change is median(with option) /
median(without), with its significance (harness.compare.stats). Verdicts:
  confirmed     - a significant improvement in the claimed direction, no significant worsening
  not seen      - no significant difference
  the opposite  - a significant worsening, no significant improvement
  mixed         - both, at different sizes or phases (see the details)
  too few repetitions - pairs exist but have one repetition on a side: untestable
  not measured  - the run has no such pair, or none where the option took effect on
                  its side (harness.report.evidence; the row's reason says why)
Only the locked Cosmos is measured here; other releases (axis cosmos_version) are left
out. A difference under MIN_EFFECT counts as none, significant or not: the guide
speaks of "High" and "Low", not of a 1% drift.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, compare_samples
from harness.report.common import axes_key, size_sort_key
from harness.report.evidence import acted

MIN_EFFECT = 0.05

CONFIRMED = "confirmed"
NOT_SEEN = "not seen"
OPPOSITE = "the opposite"
MIXED = "mixed"
UNTESTED = "too few repetitions"
NOT_MEASURED = "not measured"

IMPROVED, WORSENED, SAME, UNKNOWN = "improved", "worsened", "no difference", "untested"

PairsOf = Callable[[list[Any]], list[tuple[Any, Any]]]


def fixed(with_value: Any, without_value: Any) -> PairsOf:
    """The option's value against the value without it, when both were measured."""
    return lambda present: (
        [(with_value, without_value)] if with_value in present and without_value in present else []
    )


def lowest_against_higher(present: list[Any]) -> list[tuple[Any, Any]]:
    """Concurrency: the lowest value measured against each higher one."""
    values = sorted(present)
    return [(values[0], v) for v in values[1:]]


@dataclass(frozen=True)
class Contrast:
    """Scenarios of ``phase`` differing only in ``axis`` (and the ``ignore`` axes)."""

    phase: str
    axis: str
    pairs: PairsOf
    label: str
    ignore: tuple[str, ...] = ()
    """Axes the option makes irrelevant (None on one side), left out of the matching."""
    where_without: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """Restrictions on the side without the option, e.g. DBT_LS only on a cache miss."""


@dataclass(frozen=True)
class GuideOption:
    """One numbered section of the guide."""

    number: int
    key: str
    title: str
    impact: str
    """The guide's own words for the size of the effect."""
    claim: str
    metrics: tuple[str, ...]
    """The metrics the claim is about (memory, time, slots)."""
    contrasts: tuple[Contrast, ...]
    kind: str = "reduces"
    """"reduces": the option should lower the metrics; "no_overhead": it should not raise them."""


_LS = ("DBT_LS", "AUTOMATIC")

OPTIONS: tuple[GuideOption, ...] = (
    GuideOption(
        1,
        "memory_optimised_imports",
        "Enable memory-optimised imports",
        "High",
        "Reduces memory footprint both at the DAG Processor and at Worker nodes.",
        ("memory",),
        (
            Contrast("import", "memory_optimised_imports", fixed(True, False), "import: on vs off"),
            Contrast(
                "dag_parse", "memory_optimised_imports", fixed(True, False), "dag_parse: on vs off"
            ),
            Contrast("task", "memory_optimised_imports", fixed(True, False), "task: on vs off"),
        ),
    ),
    GuideOption(
        2,
        "dbt_manifest",
        "Use DBT_MANIFEST load mode",
        "High",
        "Avoids running the dbt ls subprocess; reduces memory when the dbt ls cache misses.",
        ("memory",),
        (
            Contrast(
                "dag_parse",
                "load_mode",
                fixed("DBT_MANIFEST", "DBT_LS"),
                "dag_parse: DBT_MANIFEST vs DBT_LS, cache miss",
                # collapsed to None when no dbt ls runs (harness.scenarios.model.effective)
                ignore=("cache", "render_invocation", "partial_parse", "enable_mock_profile"),
                where_without={"cache": ("cold",)},
            ),
        ),
    ),
    GuideOption(
        3,
        "dbt_runner",
        "Use DBT_RUNNER invocation mode",
        "Medium-High",
        "Can reduce subprocess overhead and memory usage compared to subprocess mode.",
        ("memory",),
        (
            Contrast(
                "task",
                "execution_invocation",
                fixed("DBT_RUNNER", "SUBPROCESS"),
                "task: DBT_RUNNER vs SUBPROCESS",
            ),
            Contrast(
                "dag_run",
                "execution_invocation",
                fixed("DBT_RUNNER", "SUBPROCESS"),
                "dag_run: DBT_RUNNER vs SUBPROCESS",
            ),
            Contrast(
                "dag_parse",
                "render_invocation",
                fixed("DBT_RUNNER", "SUBPROCESS"),
                "dag_parse (dbt ls, cache miss): DBT_RUNNER vs SUBPROCESS",
                where_without={"cache": ("cold",), "load_mode": _LS},
            ),
        ),
    ),
    GuideOption(
        4,
        "partial_parse",
        "Use partial parse (keep enabled)",
        "Low",
        "Actually reduces memory by avoiding full project parsing.",
        ("memory",),
        (
            # the msgpack's state only exists with partial parse on
            Contrast(
                "dag_parse",
                "partial_parse",
                fixed(True, False),
                "dag_parse: on vs off",
                ignore=("partial_parse_state",),
            ),
            Contrast(
                "task",
                "partial_parse",
                fixed(True, False),
                "task: on vs off",
                ignore=("partial_parse_state",),
            ),
            Contrast("dag_run", "partial_parse", fixed(True, False), "dag_run: on vs off"),
        ),
    ),
    GuideOption(
        5,
        "watcher",
        "Use ExecutionMode.WATCHER",
        "Very High",
        "Dramatically reduces Airflow worker slot usage and memory consumption.",
        ("memory", "slots"),
        (
            Contrast(
                "dag_run", "execution_mode", fixed("WATCHER", "LOCAL"), "dag_run: WATCHER vs LOCAL"
            ),
        ),
    ),
    GuideOption(
        6,
        "concurrency",
        "Control DAG-level concurrency",
        "High",
        "Limits concurrent task execution per DAG based on available resources.",
        ("memory",),
        (
            Contrast(
                "dag_run",
                "concurrency",
                lowest_against_higher,
                "dag_run: lowest vs higher concurrency",
            ),
        ),
    ),
    GuideOption(
        7,
        "debug_mode",
        "Enable task profiling with debug mode",
        "Low",
        "Provides visibility into memory usage; adds minimal overhead.",
        ("memory", "time"),
        (
            # the poll interval only exists with debug mode on
            Contrast(
                "task",
                "debug_mode",
                fixed(True, False),
                "task: on vs off",
                ignore=("debug_poll_s",),
            ),
            Contrast(
                "dag_run",
                "debug_mode",
                fixed(True, False),
                "dag_run: on vs off",
                ignore=("debug_poll_s",),
            ),
        ),
        kind="no_overhead",
    ),
)
assert len(OPTIONS) == 7


@dataclass(frozen=True)
class Pair:
    """One measured contrast: a scenario with the option and its twin without."""

    option: str
    contrast: str
    phase: str
    size: int | str | None
    with_value: Any
    without_value: Any
    with_id: str
    without_id: str
    changes: dict[str, Change]
    """metric key -> change of median(with) / median(without)."""
    acted: bool = True
    """The option took effect on its side (harness.report.evidence); if not, the
    pair is shown but left out of the verdict."""
    acted_reason: str | None = None

    def outcome(self, metric: str) -> str | None:
        """improved, worsened, no difference, untested; None if the metric is missing."""
        c = self.changes.get(metric)
        if c is None:
            return None
        if c.significant is None:
            return UNKNOWN
        if c.significant and c.ratio < 1.0 - MIN_EFFECT:
            return IMPROVED
        if c.significant and c.ratio > 1.0 + MIN_EFFECT:
            return WORSENED
        return SAME


def find_pairs(option: GuideOption, scenarios: dict[str, ScenarioSamples]) -> list[Pair]:
    """Every pair of scenarios that measures ``option`` (only scenarios with ok values)."""
    out = []
    for c in option.contrasts:
        # The guide is about the Cosmos under test: scenarios run with another release
        # (axis cosmos_version) have their own table (harness.report.loadtest.version_rows).
        phase = [
            s
            for s in scenarios.values()
            if s.phase == c.phase
            and s.n_ok
            and c.axis in s.axes
            and s.axes.get("cosmos_version") is None
        ]
        present = sorted({s.axes[c.axis] for s in phase if s.axes[c.axis] is not None}, key=repr)
        drop = {c.axis, *c.ignore}
        for with_v, without_v in c.pairs(present):
            without: dict[tuple[tuple[str, str], ...], list[ScenarioSamples]] = {}
            for s in phase:
                if s.axes[c.axis] == without_v and all(
                    s.axes.get(k) in allowed for k, allowed in c.where_without.items()
                ):
                    without.setdefault(axes_key(s.axes, drop), []).append(s)
            for s in phase:
                if s.axes[c.axis] != with_v:
                    continue
                for twin in without.get(axes_key(s.axes, drop), []):
                    took, why = acted(option.key, s.records, twin.records)
                    changes = {
                        m: compare_samples(twin.values[m], s.values[m])
                        for m in ("memory", "time", "slots")
                        if s.values.get(m) and twin.values.get(m)
                    }
                    out.append(
                        Pair(
                            option.key,
                            c.label,
                            c.phase,
                            s.size,
                            with_v,
                            without_v,
                            s.scenario_id,
                            twin.scenario_id,
                            changes,
                            took,
                            why,
                        )
                    )
    return out


def verdict(option: GuideOption, pairs: list[Pair]) -> str:
    """The option's verdict from the outcomes of its claimed metrics over all pairs."""
    outcomes = [o for p in pairs for m in option.metrics if (o := p.outcome(m)) is not None]
    if not outcomes:
        return NOT_MEASURED
    tested = [o for o in outcomes if o != UNKNOWN]
    if not tested:
        return UNTESTED
    if option.kind == "no_overhead":
        return OPPOSITE if WORSENED in tested else CONFIRMED
    improved, worsened = IMPROVED in tested, WORSENED in tested
    if improved and worsened:
        return MIXED
    if improved:
        return CONFIRMED
    return OPPOSITE if worsened else NOT_SEEN


@dataclass(frozen=True)
class Cell:
    """The change of one metric at one size, summarised over the pairs found there."""

    ratio: float
    low: float | None
    high: float | None
    n_pairs: int
    note: str
    """"CI" (one pair, bootstrap interval), "range" (several pairs: min..max of their
    ratios) or "n=1" (one pair, single repetitions: no spread)."""


def cell(pairs: list[Pair], metric: str) -> Cell | None:
    """Summary of ``metric`` over ``pairs`` (None when none has it)."""
    changes = [p.changes[metric] for p in pairs if metric in p.changes]
    if not changes:
        return None
    if len(changes) == 1:
        c = changes[0]
        return Cell(c.ratio, c.ci_low, c.ci_high, 1, "CI" if c.ci_low is not None else "n=1")
    ratios = sorted(c.ratio for c in changes)
    mid = statistics.median(ratios)
    return Cell(mid, ratios[0], ratios[-1], len(ratios), "range")


@dataclass
class GuideRow:
    """One row of the guide table."""

    option: GuideOption
    pairs: list[Pair]
    verdict: str
    cells: dict[int | str | None, dict[str, Cell | None]]
    """size -> metric -> summary."""
    size_verdicts: dict[int | str | None, str]
    reason: str | None = None
    """Why the verdict is "not measured" although pairs exist: the option never took
    effect on its side (harness.report.evidence)."""


def _counted(pairs: list[Pair]) -> tuple[list[Pair], str | None]:
    """The pairs where the option acted; the reasons when it never did."""
    counted = [p for p in pairs if p.acted]
    if counted or not pairs:
        return counted, None
    return counted, "; ".join(sorted({p.acted_reason or "" for p in pairs}))


def evaluate(scenarios: dict[str, ScenarioSamples]) -> list[GuideRow]:
    """All seven rows, measured or not, in the guide's order."""
    rows = []
    for option in OPTIONS:
        pairs = find_pairs(option, scenarios)
        counted, reason = _counted(pairs)
        sizes = sorted({p.size for p in pairs}, key=size_sort_key)
        cells = {}
        size_verdicts = {}
        for size in sizes:
            at = [p for p in counted if p.size == size]
            cells[size] = {m: cell(at, m) for m in ("memory", "time", "slots")}
            size_verdicts[size] = verdict(option, at)
        row_verdict = verdict(option, counted)
        rows.append(GuideRow(option, pairs, row_verdict, cells, size_verdicts, reason))
    return rows
