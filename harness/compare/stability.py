"""Is a configuration's figure stable over its repetitions? As `pyperf check` does.

pyperf warns when the standard deviation passes 10% of the mean, or when the minimum
or maximum lies more than 50% from the mean. Such a figure is flagged "unstable":
compare and the report still show it, and say so wherever it is used for a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CV = 0.10
"""Standard deviation over mean above which a figure is unstable (pyperf's 10%)."""
MAX_OUTLIER = 0.50
"""A repetition this far from the mean (as a fraction of it) makes it unstable (pyperf's)."""


@dataclass(frozen=True)
class Stability:
    """The spread of one metric of one configuration over its repetitions."""

    n: int
    cv: float | None
    """Sample standard deviation / mean (None with a single repetition)."""
    reasons: tuple[str, ...]
    """Why it is unstable, in words (empty when stable or unknown)."""

    @property
    def unstable(self) -> bool:
        """True when a pyperf-style check failed."""
        return bool(self.reasons)

    @property
    def checked(self) -> bool:
        """False with fewer than two repetitions: nothing to check."""
        return self.cv is not None


def check(
    values: list[float], max_cv: float = MAX_CV, max_outlier: float = MAX_OUTLIER
) -> Stability:
    """pyperf check's rules on one sample of positive values."""
    a = np.asarray(values, dtype=float)
    if len(a) < 2 or a.mean() <= 0:
        return Stability(len(a), None, ())
    mean = float(a.mean())
    cv = float(a.std(ddof=1)) / mean
    reasons = []
    if cv > max_cv:
        reasons.append(f"standard deviation {cv:.0%} of the mean")
    if a.min() < mean * (1 - max_outlier):
        reasons.append(f"minimum {1 - a.min() / mean:.0%} below the mean")
    if a.max() > mean * (1 + max_outlier):
        reasons.append(f"maximum {a.max() / mean - 1:.0%} above the mean")
    return Stability(len(a), cv, tuple(reasons))
