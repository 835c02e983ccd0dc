"""The memory guide, measured: the seven options of Cosmos's "Memory Optimization
Options" page in Cosmos's documentation (declared in harness.report.guide_options: what
the guide says each does, and the axis contrasts that measure it), and a verdict.

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

A row asks whether any of its pairs moved, so each metric's p-values over the row's
pairs where the option acted (the pairs that judge it; the others are shown unadjusted)
are adjusted together (Benjamini-Hochberg, harness.compare.stats.adjust): with
six pairs of pure noise tested at 5% each, one pair in four would pass by chance; after
the adjustment an option that does nothing gets a verdict other than "not seen" with
about 5% probability at most, whatever the number of pairs (tests/test_report.py
simulates it).
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from typing import Any

from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, adjust, compare_samples
from harness.report.common import axes_key, size_sort_key, successful
from harness.report.evidence import acted
from harness.report.guide_options import OPTIONS, GuideOption

MIN_EFFECT = 0.05

CONFIRMED = "confirmed"
NOT_SEEN = "not seen"
OPPOSITE = "the opposite"
MIXED = "mixed"
UNTESTED = "too few repetitions"
NOT_MEASURED = "not measured"

IMPROVED, WORSENED, SAME, UNKNOWN = "improved", "worsened", "no difference", "untested"
METRICS = ("memory", "time", "slots")

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
        # (axis cosmos_version) have their own table (harness.report.versions.version_rows).
        phase = [
            s
            for s in scenarios.values()
            if s.phase == c.phase
            and successful(s)
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
                        for m in METRICS
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
    """"CI" (one pair, the t-test's 95% interval of the ratio), "range" (several pairs:
    min..max of their ratios) or "n=1" (one pair, single repetitions: no spread)."""


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


def adjusted(pairs: list[Pair]) -> list[Pair]:
    """The pairs with each metric's significance adjusted over all of them (BH)."""
    out = list(pairs)
    for metric in METRICS:
        at = [i for i, p in enumerate(out) if metric in p.changes]
        for i, change in zip(at, adjust([out[i].changes[metric] for i in at]), strict=True):
            out[i] = dataclasses.replace(out[i], changes={**out[i].changes, metric: change})
    return out


def evaluate(scenarios: dict[str, ScenarioSamples]) -> list[GuideRow]:
    """All seven rows, measured or not, in the guide's order."""
    rows = []
    for option in OPTIONS:
        found = find_pairs(option, scenarios)
        counted, reason = _counted(found)
        # The family the adjustment spans is the pairs that judge the option: a pair where
        # it never acted is shown, unadjusted, and must not dilute the others.
        counted = adjusted(counted)
        judged = iter(counted)
        pairs = [next(judged) if p.acted else p for p in found]
        sizes = sorted({p.size for p in pairs}, key=size_sort_key)
        cells = {}
        size_verdicts = {}
        for size in sizes:
            at = [p for p in counted if p.size == size]
            cells[size] = {m: cell(at, m) for m in METRICS}
            size_verdicts[size] = verdict(option, at)
        row_verdict = verdict(option, counted)
        rows.append(GuideRow(option, pairs, row_verdict, cells, size_verdicts, reason))
    return rows
