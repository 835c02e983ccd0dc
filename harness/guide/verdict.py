"""The verdict rules of the guide table (harness.guide.rows): from the pairs of one
contrast at one size to a verdict, and from those to a size's and a row's verdict.

A group is the pairs of one place at one size: a phase, or a Celery worker at one
worker_concurrency (harness.guide.workers). Its verdict:
  avoids a failure - a pair where the option's side succeeded and its twin failed
                     (timeout, OOM kill, error): the failure decides the pair
  the opposite     - a significant worsening whose median is beyond MIN_EFFECT, or a
                     pair where only the option's side failed
  confirmed        - "reduces": a significant improvement whose median over the group's
                     pairs is beyond MIN_EFFECT (a significant change under it is "not
                     seen", with a note); "no_overhead": every pair shown equivalent
                     within MIN_EFFECT by two one-sided tests (stats.equivalence)
  cannot tell      - "no_overhead": an interval too wide to show equivalence
  not seen         - no significant change beyond the floor
  mixed            - improvements and worsenings (or a failure and a worsening) together
  too few repetitions / not measured - nothing testable / no pair
Groups (and sizes) that disagree make the row "mixed", with where each verdict holds;
"avoids a failure" and "confirmed" agree (both the claimed direction), and a group
with too few repetitions disagrees with nothing.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

# The rules of one change are compare's, which `harness compare` shares (SAME and UNKNOWN
# are read through this module by harness.guide.rows).
from harness.compare.effect import (
    AVOIDS,
    BOTH_FAILED,
    CANNOT_TELL,
    FAILS,
    IMPROVED,
    MIN_EFFECT,
    NOT_SEEN,
    UNTESTED,
    WORSENED,
    outcome,
)
from harness.compare.effect import SAME as SAME
from harness.compare.effect import UNKNOWN as UNKNOWN
from harness.compare.stats import Change

if TYPE_CHECKING:  # guide imports this module
    from harness.guide.rows import Pair

CONFIRMED = "confirmed"
OPPOSITE = "the opposite"
MIXED = "mixed"
NOT_MEASURED = "not measured"
NO_EFFECT = "no effect in this version"
PER_SLOT = "cost per slot"
VERDICTS = (CONFIRMED, AVOIDS, NOT_SEEN, CANNOT_TELL, OPPOSITE, MIXED, NO_EFFECT, PER_SLOT,
            UNTESTED, BOTH_FAILED, NOT_MEASURED)  # fmt: skip
"""Every verdict a row or a size can get."""

SILENT = (UNTESTED, BOTH_FAILED, NOT_MEASURED)
"""Verdicts that tell nothing: they disagree with no other."""
_CLAIMED = {CONFIRMED, AVOIDS}


@dataclass(frozen=True)
class Judgement:
    """The verdict of some pairs, where it holds, and what qualifies it."""

    verdict: str
    where: str = ""
    """Where each verdict holds, when the pairs disagree ("" when they agree)."""
    notes: tuple[str, ...] = ()


def _reduces(changes: list[Change]) -> tuple[str, str | None]:
    """The verdict of one metric over a group's pairs, for an option that should lower it."""
    tested = [c for c in changes if c.significant is not None]
    if not tested:
        return UNTESTED, None
    found = {outcome(c) for c in tested}
    if IMPROVED in found and WORSENED in found:
        return MIXED, None
    mid = statistics.median(c.ratio for c in tested)
    if IMPROVED in found and mid < 1.0 - MIN_EFFECT:
        return CONFIRMED, None
    if WORSENED in found and mid > 1.0 + MIN_EFFECT:
        return OPPOSITE, None
    if any(c.significant for c in tested):
        return NOT_SEEN, f"significant, but the median {mid - 1:+.0%} is under the floor"
    return NOT_SEEN, None


def _no_overhead(pairs: Sequence[Pair], metric: str) -> tuple[str, str | None]:
    """The verdict of one metric for an option claimed not to raise it: an equivalence test."""
    changes = [p.changes[metric] for p in pairs if metric in p.changes]
    worse = [c for c in changes if outcome(c) == WORSENED]
    if worse and statistics.median(c.ratio for c in changes) > 1.0 + MIN_EFFECT:
        return OPPOSITE, None
    eqs = [p.equivalence[metric] for p in pairs if metric in p.equivalence]
    if not eqs or all(e.equivalent is None for e in eqs):
        return UNTESTED, None
    if all(e.equivalent for e in eqs):
        return CONFIRMED, f"{metric} equivalent within ±{MIN_EFFECT:.0%} (TOST)"
    widest = max(
        (e for e in eqs if e.ci_low is not None and e.ci_high is not None),
        key=lambda e: (e.ci_high or 1.0) - (e.ci_low or 1.0),
    )
    return CANNOT_TELL, (
        f"{metric}: 90% interval {(widest.ci_low or 1) - 1:+.0%}..{(widest.ci_high or 1) - 1:+.0%}"
        f" is wider than the ±{MIN_EFFECT:.0%} margin"
    )


def _metrics(kind: str, metrics: Sequence[str], pairs: Sequence[Pair]) -> Judgement:
    """The verdict of a group's measured pairs over the claimed metrics."""
    found: list[str] = []
    notes: list[str] = []
    for m in metrics:
        if not any(m in p.changes for p in pairs):
            continue
        if kind == "no_overhead":
            v, note = _no_overhead(pairs, m)
        else:
            v, note = _reduces([p.changes[m] for p in pairs if m in p.changes])
        found.append(v)
        notes += [note] if note else []
    if not found:
        return Judgement(NOT_MEASURED)
    kinds = set(found)
    if kind == "no_overhead" and OPPOSITE in kinds:
        return Judgement(OPPOSITE, notes=tuple(notes))  # an overhead anywhere refutes it
    if MIXED in kinds or {CONFIRMED, OPPOSITE} <= kinds:
        return Judgement(MIXED, notes=tuple(notes))
    order = (OPPOSITE, CANNOT_TELL, CONFIRMED) if kind == "no_overhead" else (
        CONFIRMED, OPPOSITE, CANNOT_TELL)  # fmt: skip
    for v in (*order, NOT_SEEN, UNTESTED):
        if v in kinds:
            return Judgement(v, notes=tuple(notes))
    return Judgement(NOT_MEASURED)


def judge_group(kind: str, metrics: Sequence[str], pairs: Sequence[Pair]) -> Judgement:
    """The verdict of the pairs of one place at one size (pairs where the option acted)."""
    measured = [p for p in pairs if p.failure is None]
    j = _metrics(kind, metrics, measured)
    avoided = [p for p in pairs if p.failure == AVOIDS]
    caused = [p for p in pairs if p.failure == FAILS]
    both = [p for p in pairs if p.failure == BOTH_FAILED]
    notes = list(j.notes)  # the failures are shown with their pairs (Pair.failure_text)
    if j.verdict == NOT_MEASURED and both and not avoided and not caused:
        return Judgement(BOTH_FAILED)
    if avoided and caused:
        return Judgement(MIXED, notes=tuple(notes))
    if avoided:
        v = MIXED if j.verdict in (OPPOSITE, MIXED) else AVOIDS
        return Judgement(v, notes=tuple(notes))
    if caused:
        v = MIXED if j.verdict in (CONFIRMED, MIXED) else OPPOSITE
        return Judgement(v, notes=tuple(notes))
    return j


def combine(judged: Sequence[tuple[str, Judgement]]) -> Judgement:
    """One verdict from the verdicts of several places (a size and phase each): the one
    they share; "confirmed" when the claimed direction holds everywhere (avoiding a
    failure counts for it); else "mixed", with where each verdict holds."""
    if not judged:
        return Judgement(NOT_MEASURED)
    notes = tuple(f"{place}: {n}" for place, j in judged for n in j.notes)
    places: dict[str, list[str]] = {}
    for place, j in judged:
        places.setdefault(j.verdict, []).append(place)
    where = "; ".join(f"{v} at {', '.join(at)}" for v, at in places.items())
    told = {v for v in places if v not in SILENT}
    if not told:
        v = next((v for v in SILENT if v in places), NOT_MEASURED)
        return Judgement(v, "", notes)
    if told <= _CLAIMED:
        v = CONFIRMED if CONFIRMED in told else AVOIDS
    elif len(told) == 1:
        (v,) = told
    else:
        v = MIXED
    return Judgement(v, where if len(places) > 1 else "", notes)
