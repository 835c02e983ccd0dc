"""The memory guide, measured: the seven options of Cosmos's "Memory Optimization
Options" page (harness.guide.options), the pairs of scenarios that measure each, the
verdict rules (harness.guide.verdict), whether the option acted (harness.guide.evidence),
a failed side (harness.guide.failed_sides) and concurrency's cost per slot
(harness.guide.slots); harness.guide.rows puts them together into the guide's rows,
which this package's face re-exports.

Reads stored records through harness.compare; knows nothing of how a report lays them out.
"""

from harness.guide.rows import (
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
    OPTIONS,
    PER_SLOT,
    SAME,
    UNKNOWN,
    UNTESTED,
    VERDICTS,
    WORSENED,
    ChangeOverPairs,
    GuideOption,
    GuideRow,
    Pair,
    evaluate,
    find_pairs,
    summarise,
)

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
]
