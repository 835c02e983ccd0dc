"""Is NEW different from BASE over the repetitions? Medians, spread and significance.

As asv does, the test is Mann-Whitney U (two-sided, no assumption of normal
noise) when the sample sizes can reach the significance level at all. With
fewer repetitions they cannot (3 against 3 never goes below p = 0.1), so there
the 95% bootstrap confidence interval of the ratio of medians must exclude 1.
With a single repetition on a side nothing can be said: ``significant`` is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000
SEED = 20240601  # fixed: the same data always gives the same interval and verdict


@dataclass(frozen=True)
class Spread:
    """Median and quartiles of one sample."""

    n: int
    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float


def spread(values: list[float]) -> Spread:
    """Median, quartiles (linear interpolation), min and max of a non-empty sample."""
    a = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return Spread(len(a), float(med), float(q1), float(q3), float(a.min()), float(a.max()))


@dataclass(frozen=True)
class Change:
    """NEW against BASE for one metric."""

    base: Spread
    new: Spread
    ratio: float
    """median(NEW) / median(BASE); above 1 means NEW is larger (worse: every metric is a cost)."""
    ci_low: float | None
    ci_high: float | None
    """95% bootstrap interval of the ratio (None with a single repetition on a side)."""
    p_value: float | None
    """Mann-Whitney U two-sided p-value (None with a single repetition on a side)."""
    test: str
    """"mann-whitney", "bootstrap" (too few repetitions for the U test) or "none"."""
    significant: bool | None
    """True/False from ``test``; None when there are too few repetitions to tell."""

    @property
    def percent(self) -> float:
        """The change in percent: (ratio - 1) * 100."""
        return (self.ratio - 1.0) * 100.0


def _ratio(new: float, base: float) -> float:
    if base == 0:
        return 1.0 if new == 0 else math.inf
    return new / base


def min_p_value(n: int, m: int) -> float:
    """Smallest two-sided p the exact U test can give for sample sizes n and m."""
    return min(1.0, 2.0 / math.comb(n + m, n))


def bootstrap_ratio_ci(
    base: list[float], new: list[float], level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float]:
    """Percentile bootstrap interval of median(new)/median(base), resampling each side."""
    rng = np.random.default_rng(SEED)
    b = np.asarray(base, dtype=float)
    n = np.asarray(new, dtype=float)
    b_med = np.median(b[rng.integers(0, len(b), (resamples, len(b)))], axis=1)
    n_med = np.median(n[rng.integers(0, len(n), (resamples, len(n)))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(b_med == 0, np.where(n_med == 0, 1.0, np.inf), n_med / b_med)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    return float(low), float(high)


def compare_samples(base: list[float], new: list[float], alpha: float = ALPHA) -> Change:
    """Ratio of medians, bootstrap interval, U test and the significance verdict."""
    from scipy.stats import mannwhitneyu  # here: importing the report must not load scipy

    if not base or not new:
        raise ValueError("both samples need at least one value")
    sb, sn = spread(base), spread(new)
    ratio = _ratio(sn.median, sb.median)
    if len(base) < 2 or len(new) < 2:
        return Change(sb, sn, ratio, None, None, None, "none", None)
    low, high = bootstrap_ratio_ci(base, new)
    p = float(mannwhitneyu(new, base, alternative="two-sided").pvalue)
    if math.isnan(p):  # every value equal on both sides
        p = 1.0
    if min_p_value(len(base), len(new)) < alpha:
        return Change(sb, sn, ratio, low, high, p, "mann-whitney", p < alpha)
    return Change(sb, sn, ratio, low, high, p, "bootstrap", not low <= 1.0 <= high)
