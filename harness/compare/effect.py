"""What one measured change says, in words: the rules the guide table
(harness.guide.verdict) and the upgrade pairs (harness.compare.upgrade) share.

A change counts only when it is significant AND beyond MIN_EFFECT (the guide speaks of
"High" and "Low", not of a 1% drift). A scenario whose every repetition failed (timeout,
OOM kill, error) against a twin that succeeded is an outcome of its own: the failure
decides the pair. They live here, in compare, so that `harness compare` and the report
judge with one rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, adjust

P = TypeVar("P")

MIN_EFFECT = 0.05
"""A change under 5% counts as none, significant or not."""

# outcomes of one pair and metric
IMPROVED, WORSENED, SAME, UNKNOWN = "improved", "worsened", "no difference", "untested"
CANNOT_TELL = "cannot tell"
"""No significant change, and the interval too wide to show equivalence (TOST)."""
NOT_SEEN = "not seen"
UNTESTED = "too few repetitions"
# outcomes of a pair where a side failed (BOTH_FAILED is also a guide row's verdict)
AVOIDS = "avoids a failure"
FAILS = "fails where the other does not"
BOTH_FAILED = "both failed"

FAILED = ("error", "oom", "timeout")
"""Statuses of a failed measurement ("invalid", Cosmos refusing a combination, is none)."""


def outcome(change: Change) -> str:
    """improved, worsened (significant and beyond MIN_EFFECT), no difference, untested."""
    if change.significant is None:
        return UNKNOWN
    if change.significant and change.ratio < 1.0 - MIN_EFFECT:
        return IMPROVED
    if change.significant and change.ratio > 1.0 + MIN_EFFECT:
        return WORSENED
    return SAME


def state(s: ScenarioSamples) -> str | None:
    """The state of a scenario: "ok" (every repetition succeeded with a peak and a time),
    "failed" (every one failed), else None (partly failed: it decides nothing)."""
    total = sum(s.statuses.values())
    if total and s.n_ok == total and s.values.get("memory") and s.values.get("time"):
        return "ok"
    failed = sum(s.statuses.get(k, 0) for k in FAILED)
    return "failed" if total and failed == total else None


def adjusted_pairs(pairs: list[P], metrics: Iterable[str]) -> list[P]:
    """``pairs`` (dataclasses with ``changes``: metric -> Change) with each metric's
    significance adjusted over all of them (Benjamini-Hochberg): one family per metric."""
    out = list(pairs)
    for metric in metrics:
        at = [i for i, p in enumerate(out) if metric in _changes(p)]
        for i, change in zip(at, adjust([_changes(out[i])[metric] for i in at]), strict=True):
            new = {**_changes(out[i]), metric: change}
            out[i] = dataclasses.replace(out[i], changes=new)  # type: ignore[type-var]
    return out


def _changes(pair: Any) -> dict[str, Change]:
    changes: dict[str, Change] = pair.changes
    return changes
