"""What upgrading does: pairs of scenarios that differ only in a release of the stack (axes
cosmos_version, dbt_version) or in one of Cosmos's settings beyond its memory guide
(watcher_reliable_retry, producer_threads), each with the change of peak memory, wall
time and, on Celery, the largest worker's peak.

Within one run, every two scenarios of one phase and size whose axes are equal but for one
of KNOBS make a pair, the older release (the smaller value) as its base: the ratio is
median(newer) / median(older). Across two runs (`harness compare BASE NEW` where their
stacks' versions differ, harness.compare.diff.version_changes) each scenario is paired
with itself, BASE as the base; a scenario that ran its own release of the changed
package (cosmos_version or dbt_version set) ran the same one in both and is left out.

The statistics and words are the guide table's (harness.guide.rows, through
harness.compare.effect): Student's t on the log values, the p-values of one knob's pairs
adjusted together per metric (Benjamini-Hochberg: does this upgrade change anything), a
change under MIN_EFFECT counts as none, a change that is neither shown nor excluded by two
one-sided tests within MIN_EFFECT is "cannot tell", and a side whose every repetition
failed (timeout, OOM kill, error) decides the pair. A scenario partly failed pairs with
nothing, as in the guide. Pairs are sorted by the size of their change, largest first:
those a failure decides, then those with a change beyond the floor, then the rest.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.compare.diff import version_changes
from harness.compare.effect import (
    AVOIDS,
    BOTH_FAILED,
    CANNOT_TELL,
    FAILED,
    FAILS,
    IMPROVED,
    MIN_EFFECT,
    NOT_SEEN,
    SAME,
    UNKNOWN,
    UNTESTED,
    WORSENED,
    adjusted_pairs,
    outcome,
    state,
)
from harness.compare.runs import RunData
from harness.compare.samples import ScenarioSamples, group_scenarios, size_of
from harness.compare.stats import Change, Equivalence, compare_samples, equivalence
from harness.registry import AXES, PHASES


@dataclass(frozen=True)
class Knob:
    """An axis whose pairs the section shows."""

    axis: str
    package: str | None
    """The package whose release the axis picks ("locked": the run's own); None: a setting."""

    @property
    def release(self) -> bool:
        """A release of the stack (not a setting of Cosmos)."""
        return self.package is not None


KNOBS = (
    Knob("cosmos_version", "astronomer-cosmos"),
    Knob("dbt_version", "dbt-core"),
    Knob("watcher_reliable_retry", None),
    Knob("producer_threads", None),
)
PACKAGE_AXIS = {k.package: k.axis for k in KNOBS if k.package}
"""A package of run.json's versions -> the axis that runs another release of it."""

METRICS = ("memory", "time", "worker")
"""Peak memory of the measured tree, wall time, and the largest Celery worker's peak
(figures.workers: a Celery dag_run's own peak is the scheduler loop's)."""
DECISIVE = (AVOIDS, FAILS)


@dataclass(frozen=True)
class UpgradePair:
    """Two scenarios that differ in one release or setting only."""

    differs: str
    """The axis (one run), or the packages whose versions differ (two runs)."""
    release: bool
    """A release of the stack, not a setting of Cosmos."""
    phase: str
    size: int | str | None
    base: str
    new: str
    """The two sides' values: "1.14.2", "1.15.1 (locked)", "off", "8"."""
    base_id: str
    new_id: str
    other: dict[str, Any]
    """The other axis values of the pair (equal on both sides)."""
    changes: dict[str, Change] = field(default_factory=dict)
    """metric -> median(new) / median(base), with significance; empty when a side failed."""
    equivalence: dict[str, Equivalence] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)
    """metric -> the word: improved, worsened, no difference, not seen, cannot tell, too few
    repetitions; or the failure (avoids a failure, fails where the other does not, both
    failed) for every metric."""
    failure: str | None = None
    failed: str = ""
    """When a side failed: which, its statuses and reason."""
    repetitions: tuple[int, int] = (0, 0)

    @property
    def decided(self) -> bool:
        """A failure decides it, or a metric changed beyond the floor."""
        return self.failure in DECISIVE or any(
            v in (IMPROVED, WORSENED) for v in self.verdicts.values()
        )

    @property
    def largest(self) -> float:
        """The size of its largest change, |log ratio| (a deciding failure: infinite)."""
        if self.failure in DECISIVE:
            return math.inf
        sizes = [abs(math.log(c.ratio)) for c in self.changes.values() if 0 < c.ratio < math.inf]
        return max(sizes, default=0.0)


def word(change: Change, eq: Equivalence | None) -> str:
    """The verdict of one metric of a pair by the guide's rules (harness.compare.effect)."""
    found = outcome(change)
    if found == UNKNOWN:
        return UNTESTED
    if found != SAME:
        return found
    if eq is not None and eq.equivalent:
        return SAME
    return CANNOT_TELL if eq is not None and eq.equivalent is False else NOT_SEEN


def _worker_peaks(s: ScenarioSamples) -> list[float]:
    """The largest Celery worker's peak of each ok repetition (none under LocalExecutor)."""
    out = []
    for r in s.records:
        workers = r.figs.workers if r.status == "ok" else None
        peaks = [w.get("peak_tree_bytes") for w in workers or [] if isinstance(w, dict)]
        found = [float(p) for p in peaks if isinstance(p, int | float) and p > 0]
        if found:
            out.append(max(found))
    return out


def _values(s: ScenarioSamples, metric: str) -> list[float]:
    return _worker_peaks(s) if metric == "worker" else s.values.get(metric, [])


def _failed_text(label: str, s: ScenarioSamples) -> str:
    statuses = ", ".join(f"{k} x{n}" for k, n in sorted(s.statuses.items()) if k in FAILED)
    reason = s.reasons[0] if s.reasons else "no reason recorded"
    return f"{label} failed every repetition ({statuses}: {reason[:160]})"


def measure_pair(differs: str, release: bool, b: ScenarioSamples, n: ScenarioSamples,
                 labels: tuple[str, str], other: dict[str, Any]) -> UpgradePair:  # fmt: skip
    """One pair with its changes (not yet adjusted nor worded: ``judge`` does that)."""
    reps = (sum(b.statuses.values()), sum(n.statuses.values()))
    pair = UpgradePair(differs, release, b.phase, size_of(b.axes), *labels, b.scenario_id,
                       n.scenario_id, other, repetitions=reps)  # fmt: skip
    states = (state(b), state(n))
    if states == ("ok", "ok"):
        both = {m: (_values(b, m), _values(n, m)) for m in METRICS}
        both = {m: v for m, v in both.items() if v[0] and v[1]}
        return dataclasses.replace(
            pair,
            changes={m: compare_samples(bv, nv) for m, (bv, nv) in both.items()},
            equivalence={m: equivalence(bv, nv, MIN_EFFECT) for m, (bv, nv) in both.items()},
        )
    if states == ("failed", "failed"):
        why = "; ".join(sorted(set(b.reasons + n.reasons)))[:200]
        return dataclasses.replace(pair, failure=BOTH_FAILED, failed=f"both failed ({why})")
    bad, label = (n, labels[1]) if states[1] == "failed" else (b, labels[0])
    return dataclasses.replace(
        pair, failure=FAILS if bad is n else AVOIDS, failed=_failed_text(label, bad)
    )


def judge(family: list[UpgradePair]) -> list[UpgradePair]:
    """Each metric's p-values adjusted over ``family`` (BH), then every pair worded."""
    return [
        dataclasses.replace(
            p,
            verdicts={m: p.failure for m in METRICS}
            if p.failure
            else {m: word(c, p.equivalence.get(m)) for m, c in p.changes.items()},
        )
        for p in adjusted_pairs(family, METRICS)
    ]


def ranked(pairs: list[UpgradePair]) -> list[UpgradePair]:
    """Largest change first: decided by a failure, then beyond the floor, then the rest."""
    order = {name: i for i, name in enumerate(PHASES)}
    return sorted(pairs, key=lambda p: (not p.decided, -p.largest, order.get(p.phase, 99),
                                        str(p.size), p.differs))  # fmt: skip


def _version_key(text: str) -> tuple[float, ...]:
    """A release as numbers ("1.14.2" -> (1, 14, 2)); unknown sorts last (newest)."""
    parts = re.findall(r"\d+", text)
    return tuple(float(p) for p in parts) if parts else (math.inf,)


def _side(knob: Knob, value: Any, versions: Mapping[str, Any]) -> tuple[Any, str]:
    """(sort key, label) of one side's value of ``knob``; None is the axis's default."""
    value = AXES[knob.axis].default if value is None else value
    if knob.package is not None:
        locked = versions.get(knob.package)
        if value == "locked":
            return (_version_key(str(locked)) if locked else (math.inf,)), (
                f"{locked} (locked)" if locked else "locked"
            )
        return _version_key(str(value)), str(value)
    if isinstance(value, bool):
        return value, "on" if value else "off"
    return value, f"{value} (the profile's)" if value == 0 else str(value)


_LEFT_OUT = ("project", "task_role")
"""Axes a pair's other options do not list (its size and phase are columns of their own)."""


def _rest(axes: Mapping[str, Any], drop: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in axes.items() if k != drop))


def pairs_in_run(
    scenarios: Mapping[str, ScenarioSamples], versions: Mapping[str, Any]
) -> list[UpgradePair]:
    """Every pair of one run's scenarios that differ only in one of KNOBS, judged per knob,
    largest change first. ``versions``: run.json's (what "locked" is)."""
    out: list[UpgradePair] = []
    for knob in KNOBS:
        groups: dict[tuple[Any, ...], list[ScenarioSamples]] = {}
        for s in scenarios.values():
            if knob.axis in s.axes and state(s) is not None:
                groups.setdefault((s.phase, _rest(s.axes, knob.axis)), []).append(s)
        family = []
        for sides in groups.values():
            known = sorted(((_side(knob, s.axes[knob.axis], versions), s) for s in sides),
                           key=lambda x: x[0][0])  # fmt: skip
            for i, ((_, b_label), b) in enumerate(known):
                for (_, n_label), n in known[i + 1 :]:
                    other = {k: v for k, v in b.axes.items() if k not in (knob.axis, *_LEFT_OUT)}
                    family.append(measure_pair(knob.axis, knob.release, b, n,
                                               (b_label, n_label), other))  # fmt: skip
        out += judge(family)
    return ranked(out)


def pairs_across_runs(base: RunData, new: RunData) -> list[UpgradePair]:
    """Each scenario of BASE with itself in NEW, when the runs' releases of Cosmos or
    dbt-core differ (empty otherwise), judged together, largest change first."""
    changed = [(k, b, n) for k, b, n in version_changes(base, new) if k in PACKAGE_AXIS]
    if not changed:
        return []
    differs = ", ".join(k for k, _, _ in changed)
    labels = (
        ", ".join(f"{b}" for _, b, _ in changed) + f" ({base.run_id})",
        ", ".join(f"{n}" for _, _, n in changed) + f" ({new.run_id})",
    )
    bs, ns = group_scenarios(base.records), group_scenarios(new.records)
    family = []
    for sid, b in bs.items():
        n = ns.get(sid)
        if n is None or state(b) is None or state(n) is None:
            continue
        # its own release of every changed package: the same one ran in both runs
        if all(b.axes.get(PACKAGE_AXIS[k]) is not None for k, _, _ in changed):
            continue
        other = {k: v for k, v in b.axes.items() if k not in _LEFT_OUT}
        family.append(measure_pair(differs, True, b, n, labels, other))
    return ranked(judge(family))
