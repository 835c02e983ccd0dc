"""The memory guide, measured: the seven options of Cosmos's "Memory Optimization
Options" page in Cosmos's documentation (declared in harness.guide.options: what
the guide says each does, and the axis contrasts that measure it), and a verdict.

A contrast pairs scenarios of one phase that differ only in the option's axis
(and in the axes the option makes irrelevant, e.g. the dbt ls cache state for
DBT_MANIFEST). For each pair and metric the change is median(with option) /
median(without), with its significance (harness.compare.stats). A pair where one side
failed (every repetition a timeout, an OOM kill or an error) and the other succeeded is
decided by the failure ("avoids a failure", or the opposite), with the margin of the side
that succeeded to the limit the other passed. The verdicts and how a row's groups (one
phase at one size; a Celery worker's pairs, one worker_concurrency at one size:
harness.guide.workers) combine are harness.guide.verdict's; besides them:
  no effect in this version - the option's Cosmos setting is read and used nowhere in
                  the installed Cosmos (harness.guide.evidence.setting_uses)
  cost per slot - concurrency: MiB and seconds per extra slot (harness.guide.slots)
Only the locked Cosmos is measured here; other releases (axis cosmos_version) are left
out. A difference under MIN_EFFECT counts as none, significant or not: the guide
speaks of "High" and "Low", not of a 1% drift.

A row asks whether any of its pairs moved, so each metric's p-values over the row's
pairs where the option acted (the pairs that judge it; the others are shown unadjusted)
are adjusted together (Benjamini-Hochberg, harness.compare.stats.adjust): with
six pairs of pure noise tested at 5% each, one pair in four would pass by chance; after
the adjustment an option that does nothing gets a verdict other than "not seen" with
about 5% probability at most, whatever the number of pairs (tests/test_report.py
simulates it). Claims of no overhead are judged by equivalence (two one-sided tests
within MIN_EFFECT, stats.equivalence), so two noisy runs a side say "cannot tell".
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field
from typing import Any

from harness.compare.configs import axes_key, size_label, size_sort_key, without_celery
from harness.compare.effect import adjusted_pairs, state
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, Equivalence, compare_samples, equivalence
from harness.guide.evidence import acted, setting_uses
from harness.guide.failed_sides import failure_fields
from harness.guide.options import OPTIONS, Contrast, GuideOption
from harness.guide.slots import SlotCost, slot_costs
from harness.guide.verdict import (
    AVOIDS,
    BOTH_FAILED,
    CANNOT_TELL,
    CONFIRMED,
    FAILS,
    IMPROVED,
    MIN_EFFECT,
    MIXED,
    NO_EFFECT,
    NOT_MEASURED,
    NOT_SEEN,
    OPPOSITE,
    PER_SLOT,
    SAME,
    SILENT,
    UNKNOWN,
    UNTESTED,
    VERDICTS,
    WORSENED,
    Judgement,
    combine,
    judge_group,
    outcome,
)
from harness.guide.workers import judged_samples, place, runs_on

__all__ = [
    "AVOIDS",
    "BOTH_FAILED",
    "CANNOT_TELL",
    "CONFIRMED",
    "FAILS",
    "IMPROVED",
    "MIN_EFFECT",
    "MIXED",
    "NOT_MEASURED",
    "NOT_SEEN",
    "NO_EFFECT",
    "OPPOSITE",
    "OPTIONS",
    "PER_SLOT",
    "SAME",
    "SILENT",
    "UNKNOWN",
    "UNTESTED",
    "VERDICTS",
    "WORSENED",
    "ChangeOverPairs",
    "GuideOption",
    "GuideRow",
    "Pair",
    "evaluate",
    "find_pairs",
    "summarise",
]  # fmt: skip

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
    """metric key -> change of median(with) / median(without); empty when a side failed."""
    acted: bool = True
    """The option took effect on its side (harness.guide.evidence); if not, the
    pair is shown but left out of the verdict."""
    acted_reason: str | None = None
    failure: str | None = None
    """AVOIDS (the twin failed), FAILS (the option's side failed), BOTH_FAILED or None."""
    failed: str = ""
    """The failed side: its value, status and reason."""
    margin: str | None = None
    """The side that succeeded: how far it stayed from the limit the other passed."""
    equivalence: dict[str, Equivalence] = field(default_factory=dict)
    """metric -> the equivalence test (options claimed to cost nothing)."""
    repetitions: tuple[int, int] = (0, 0)
    """Repetitions with the option and without it."""
    place: str = ""
    """Where it was measured, the row's groups: the phase, or the Celery worker and its
    worker_concurrency (harness.guide.workers.place)."""
    metrics: tuple[str, ...] = ()
    """The metrics that judge it (its contrast's; the option's when empty)."""

    def outcome(self, metric: str) -> str | None:
        """improved, worsened, no difference, untested; the failure when a side failed;
        None if the metric is missing."""
        if self.failure is not None:
            return self.failure
        c = self.changes.get(metric)
        return None if c is None else outcome(c)

    def failure_text(self) -> str:
        """What failed, and the other side's margin to the limit."""
        margin = f"; {self.margin}" if self.margin else ""
        return f"{size_label(self.size)}, {self.phase}: {self.failed}{margin}"


def _pair(option: GuideOption, c: Contrast, s: ScenarioSamples, twin: ScenarioSamples) -> Pair:
    states = (state(s) or "", state(twin) or "")
    took, why = acted(option.key, s.records, twin.records)
    s, twin = judged_samples(c, s), judged_samples(c, twin)  # a worker's peak, on_worker
    extra: dict[str, Any] = {}
    changes: dict[str, Change] = {}
    if states == ("ok", "ok"):
        changes = {
            m: compare_samples(twin.values[m], s.values[m])
            for m in METRICS
            if s.values.get(m) and twin.values.get(m)
        }
        if option.kind == "no_overhead":
            extra["equivalence"] = {
                m: equivalence(twin.values[m], s.values[m], MIN_EFFECT)
                for m in option.metrics
                if m in changes
            }
    else:
        extra = failure_fields(c, s, twin, states)  # both failed: shown, judges nothing
    return Pair(option.key, c.label, c.phase, s.size, s.axes[c.axis], twin.axes[c.axis],
                s.scenario_id, twin.scenario_id, changes, took, why,
                repetitions=(sum(s.statuses.values()), sum(twin.statuses.values())),
                place=place(c, s), metrics=c.metrics or (), **extra)  # fmt: skip


def _candidates(c: Contrast, scenarios: dict[str, ScenarioSamples]) -> list[ScenarioSamples]:
    """The scenarios that could side in a pair of ``c``, slices it cannot judge included."""
    # The guide is about the Cosmos under test: scenarios run with another release
    # (axis cosmos_version) have their own table (harness.verdicts.versions.version_rows).
    return [
        s
        for s in scenarios.values()
        if s.phase == c.phase
        and state(s) is not None
        and c.axis in s.axes
        and s.ax.cosmos_version is None
        and runs_on(c, s.axes)
    ]


def sliced_out(option: GuideOption, scenarios: dict[str, ScenarioSamples]) -> dict[Any, str]:
    """Size -> why: the sizes where a contrast of ``option`` had DAG runs of N of the models
    (run_nodes) it cannot be judged on (Contrast.slice_misses)."""
    return {
        s.size: c.slice_misses
        for c in option.contrasts
        if c.slice_misses
        for s in _candidates(c, scenarios)
        if s.ax.run_nodes
    }


def find_pairs(option: GuideOption, scenarios: dict[str, ScenarioSamples]) -> list[Pair]:
    """Every pair of scenarios that measures ``option``: both sides succeeded, or one or
    both failed every repetition (a scenario partly failed is left out)."""
    out = []
    for c in option.contrasts:
        phase = [s for s in _candidates(c, scenarios) if not (c.slice_misses and s.ax.run_nodes)]
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
                twins = without.get(axes_key(s.axes, drop), [])
                out += [_pair(option, c, s, twin) for twin in twins]
    return out


@dataclass(frozen=True)
class ChangeOverPairs:
    """The change of one metric at one size, summarised over the pairs found there."""

    ratio: float
    low: float | None
    high: float | None
    n_pairs: int
    note: str
    """"CI" (one pair, the t-test's 95% interval of the ratio), "range" (several pairs:
    min..max of their ratios) or "n=1" (one pair, single repetitions: no spread)."""


def summarise(pairs: list[Pair], metric: str) -> ChangeOverPairs | None:
    """Summary of ``metric`` over ``pairs`` (None when none has it)."""
    changes = [p.changes[metric] for p in pairs if metric in p.changes]
    if not changes:
        return None
    if len(changes) == 1:
        c = changes[0]
        note = "CI" if c.ci_low is not None else "n=1"
        return ChangeOverPairs(c.ratio, c.ci_low, c.ci_high, 1, note)
    ratios = sorted(c.ratio for c in changes)
    mid = statistics.median(ratios)
    return ChangeOverPairs(mid, ratios[0], ratios[-1], len(ratios), "range")


@dataclass
class GuideRow:
    """One row of the guide table."""

    option: GuideOption
    pairs: list[Pair]
    verdict: str
    over_pairs: dict[int | str | None, dict[str, ChangeOverPairs | None]]
    """size -> metric -> summary."""
    size_verdicts: dict[int | str | None, str]
    reason: str | None = None
    """Why the verdict is "not measured" although pairs exist (the option never took
    effect on its side, harness.guide.evidence), or why it has no effect in this version."""
    where: str = ""
    """Where each verdict holds, when the row's sizes or phases disagree."""
    notes: tuple[str, ...] = ()
    """What qualifies the verdict: failures and margins, floors, equivalence intervals."""
    slot_costs: list[SlotCost] = field(default_factory=list)
    """Concurrency: MiB and seconds per extra slot, per configuration and size."""
    unjudged: dict[int | str | None, str] = field(default_factory=dict)
    """Size -> why no verdict there: only runs the option cannot be judged on measured it
    (sliced_out), none that could."""

    def unjudged_text(self, size: int | str | None) -> str | None:
        """What a cell at ``size`` says where only such runs measured it; else None."""
        why = self.unjudged.get(size)
        return f"not judged: {why}" if why else None


def _counted(pairs: list[Pair]) -> tuple[list[Pair], str | None]:
    """The pairs where the option acted; the reasons when it never did."""
    counted = [p for p in pairs if p.acted]
    if counted or not pairs:
        return counted, None
    return counted, "; ".join(sorted({p.acted_reason or "" for p in pairs}))


def adjusted(pairs: list[Pair]) -> list[Pair]:
    """The pairs with each metric's significance adjusted over all of them (BH)."""
    return adjusted_pairs(pairs, METRICS)


def _judge(option: GuideOption, counted: list[Pair]) -> tuple[Judgement, dict[Any, str]]:
    """The row's verdict over its groups (one place at one size each: a phase, or a Celery
    worker at one worker_concurrency), and each size's."""
    groups: dict[tuple[int | str | None, str], list[Pair]] = {}
    for p in counted:
        groups.setdefault((p.size, p.place or p.phase), []).append(p)
    keys = sorted(groups, key=lambda k: (size_sort_key(k[0]), k[1]))
    judged = {
        k: judge_group(option.kind, groups[k][0].metrics or option.metrics, groups[k])
        for k in keys
    }
    sizes = sorted({k[0] for k in keys}, key=size_sort_key)
    by_size = {
        size: combine([(k[1], judged[k]) for k in keys if k[0] == size]).verdict
        for size in sizes
    }
    row = combine([(f"{size_label(k[0])} ({k[1]})", judged[k]) for k in keys])
    return row, by_size


def _special(
    row: GuideRow, scenarios: dict[str, ScenarioSamples], cosmos_version: str | None
) -> GuideRow:
    """The verdicts that are not a direction: concurrency's cost per slot, and an option
    the installed Cosmos never uses (when it is the run's Cosmos)."""
    option = row.option
    if option.kind == "per_slot":
        costs = slot_costs(option, without_celery(scenarios))  # a Celery run's peak: its loop's
        if costs:
            per_slot = {c.size: PER_SLOT for c in costs}
            return dataclasses.replace(
                row, verdict=PER_SLOT, slot_costs=costs, where="", size_verdicts=per_slot
            )
    if option.setting is None:
        return row
    use = setting_uses(option.setting)
    if use is None or not use.unused:
        return row
    if cosmos_version is not None and use.version != cosmos_version:
        note = f"{use.text()}; but the run measured Cosmos {cosmos_version}: not applied"
        return dataclasses.replace(row, notes=(*row.notes, note))
    return dataclasses.replace(row, verdict=NO_EFFECT, reason=use.text(), where="")


def evaluate(
    scenarios: dict[str, ScenarioSamples], cosmos_version: str | None = None
) -> list[GuideRow]:
    """All seven rows, measured or not, in the guide's order. ``scenarios``: every run's,
    Celery's included (only the contrasts on a worker pair them: harness.guide.workers).
    ``cosmos_version``: the run's Cosmos (run.json), which the check of the installed
    package must match."""
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
        over_pairs = {
            size: {m: summarise([p for p in counted if p.size == size], m) for m in METRICS}
            for size in sizes
        }
        row_j, size_verdicts = _judge(option, counted)
        verdict = row_j.verdict if counted or not reason else NOT_MEASURED
        unjudged = {k: why for k, why in sliced_out(option, scenarios).items()
                    if k not in size_verdicts}  # fmt: skip
        row = GuideRow(option, pairs, verdict, over_pairs, size_verdicts, reason, row_j.where,
                       row_j.notes, unjudged=unjudged)  # fmt: skip
        rows.append(_special(row, scenarios, cosmos_version))
    return rows
