"""Is NEW different from BASE over the repetitions? Medians, spread and significance.

The test is Student's t on the logarithms of the values, with one pooled variance:
noise in peak memory and time is multiplicative (a few percent of the level), so
the log makes it additive and the difference of log means is the log of the ratio
of geometric means. Unlike Mann-Whitney U, which cannot reach p < 0.05 below four
repetitions a side, the t-test keeps its false-positive rate at any count where
the variance can be estimated at all, and it can borrow a *known spread*: the
variance of the same scenario on earlier nights (see ``KnownSpread``), so that
1 against 1 is testable. With no degree of freedom left (1 against 1 and no known
spread) nothing can be said: ``significant`` is None ("too few repetitions").

Over a whole run the p-values are adjusted by Benjamini-Hochberg (``adjust``):
with every comparison pure noise, BH rejects anything with probability at most
alpha, so a nightly of 400 comparisons fails on noise at most one night in 20.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05


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
    a = [float(v) for v in values]
    # "inclusive" is numpy.percentile's linear interpolation, without numpy's overhead
    q1, med, q3 = statistics.quantiles(a, n=4, method="inclusive") if len(a) > 1 else a * 3
    return Spread(len(a), med, q1, q3, min(a), max(a))


@dataclass(frozen=True)
class KnownSpread:
    """Variance of the log values of one scenario and metric, measured elsewhere
    (earlier nights), with its degrees of freedom."""

    var_log: float
    df: int

    @classmethod
    def of(cls, samples: list[list[float]]) -> KnownSpread | None:
        """From earlier runs' values of the scenario, every value around the mean of all
        of them: the spread of one measurement from night to night, drift included."""
        logs = [math.log(v) for s in samples for v in s if v > 0]
        if len(logs) < 2:
            return None
        return cls(float(np.var(logs, ddof=1)), len(logs) - 1)

    @classmethod
    def pooled(cls, samples: list[list[float]]) -> KnownSpread | None:
        """Within-sample variance pooled over many samples (each around its own mean):
        the noise level of a metric over a run's scenarios, used as a floor."""
        positive = [np.log(s) for s in samples if len(s) >= 2 and min(s) > 0]
        df = sum(len(s) - 1 for s in positive)
        if df == 0:
            return None
        return cls(sum(_sum_squares(s) for s in positive) / df, df)


@dataclass(frozen=True)
class Change:
    """NEW against BASE for one metric."""

    base: Spread
    new: Spread
    ratio: float
    """median(NEW) / median(BASE); above 1 means NEW is larger (worse: every metric is a cost)."""
    ci_low: float | None
    ci_high: float | None
    """95% interval of the ratio of geometric means from the t-test (None when untested)."""
    p_value: float | None
    """Two-sided p of the t-test on log values (None when untested)."""
    test: str
    """"t-test", "t-test, known spread" (earlier runs' variance pooled in), "t-test, run's
    spread" (the floor decided: too little of the scenario's own) or "none"."""
    significant: bool | None
    """p (or, after ``adjust``, the BH q-value) below alpha; None: too few repetitions."""
    df: int = 0
    """Degrees of freedom of the variance the test used."""
    q_value: float | None = None
    """Benjamini-Hochberg adjusted p over the whole comparison (set by ``adjust``)."""

    @property
    def percent(self) -> float:
        """The change in percent: (ratio - 1) * 100."""
        return (self.ratio - 1.0) * 100.0


def _ratio(new: float, base: float) -> float:
    if base == 0:
        return 1.0 if new == 0 else math.inf
    return new / base


def _sum_squares(logs: np.ndarray) -> float:
    return float(((logs - logs.mean()) ** 2).sum())


def compare_samples(
    base: list[float],
    new: list[float],
    alpha: float = ALPHA,
    known: KnownSpread | None = None,
    floor: KnownSpread | None = None,
) -> Change:
    """Ratio of medians and the t-test on log values (pooled variance of both samples and
    of ``known``, when given); ``significant`` is None when no variance can be estimated.

    ``floor``: the noise level of the metric over the whole run (``KnownSpread.pooled``).
    The variance used is never below it: a few quiet repetitions of a noisy metric must
    not make an outlier look significant (recorded noise has heavy tails). With no
    variance of the scenario's own (1 against 1, no history) nothing is decided."""
    from scipy import special  # here: importing the report must not load scipy

    if not base or not new:
        raise ValueError("both samples need at least one value")
    sb, sn = spread(base), spread(new)
    ratio = _ratio(sn.median, sb.median)
    untested = Change(sb, sn, ratio, None, None, None, "none", None)
    if min(base) <= 0 or min(new) <= 0:  # no log; a zero peak is a broken record anyway
        return untested
    lb, ln = np.log(base), np.log(new)
    ss = _sum_squares(lb) + _sum_squares(ln)
    df = len(base) + len(new) - 2
    if known is not None:
        ss += known.var_log * known.df
        df += known.df
    var = ss / df if df else 0.0
    test = "t-test, known spread" if known is not None else "t-test"
    if df == 0:
        # No spread of the scenario's own (1 against 1, no earlier nights): the run's
        # spread alone would decide on one value each, and recorded noise has heavy
        # tails (a 1-vs-1 dag_run "regressed" 38% on noise in the simulated nightly).
        return untested
    if floor is not None and floor.var_log > var:
        # the floor's variance, so its degrees of freedom (many scenarios' repetitions)
        var, test, df = floor.var_log, "t-test, run's spread", floor.df
    if df == 0:
        return untested
    diff = float(ln.mean() - lb.mean())
    se = math.sqrt(var * (1.0 / len(base) + 1.0 / len(new)))
    # se 0: identical values on each side, so any difference is exact
    # scipy.special's Student t functions: the same as scipy.stats.t, 100 times faster
    p = float(2.0 * special.stdtr(df, -abs(diff) / se)) if se > 0 else float(diff == 0)
    half = float(special.stdtrit(df, 0.975)) * se
    return Change(
        sb, sn, ratio, math.exp(diff - half), math.exp(diff + half), p, test, p < alpha, df
    )


def adjust(changes: list[Change], alpha: float = ALPHA) -> list[Change]:
    """Benjamini-Hochberg over every tested change of a run: each gets its q-value and is
    significant when q < alpha (untested ones are returned as they are)."""
    from scipy import stats as sps  # here: importing the report must not load scipy

    tested = [i for i, c in enumerate(changes) if c.p_value is not None]
    if not tested:
        return list(changes)
    qs = sps.false_discovery_control([changes[i].p_value for i in tested], method="bh")
    out = list(changes)
    for i, q in zip(tested, qs, strict=True):
        out[i] = dataclasses.replace(changes[i], q_value=float(q), significant=bool(q < alpha))
    return out


def power(
    ratio: float, sd_log: float, n_base: int, n_new: int, known_df: int = 0, level: float = ALPHA
) -> float:
    """Probability that the two-sided t-test at ``level`` finds a true ``ratio`` with
    normal noise of ``sd_log`` on the log scale (noncentral t)."""
    from scipy import stats as sps  # here: importing the report must not load scipy

    df = n_base + n_new - 2 + known_df
    if df <= 0:
        return 0.0
    delta = abs(math.log(ratio)) / (sd_log * math.sqrt(1.0 / n_base + 1.0 / n_new))
    crit = float(sps.t.ppf(1.0 - level / 2.0, df))
    return float(sps.nct.sf(crit, df, delta) + sps.nct.cdf(-crit, df, delta))


@dataclass(frozen=True)
class Equivalence:
    """Two one-sided tests (TOST) of NEW against BASE: is the ratio of geometric means
    within 1 - margin .. 1 + margin? Pooled-variance t-tests on the log values."""

    margin: float
    p_value: float | None
    """The larger of the two one-sided p-values (None: no variance to test with)."""
    ci_low: float | None
    ci_high: float | None
    """The 90% interval of the ratio (1 - 2 alpha): equivalence shown iff it lies within
    the margin."""
    equivalent: bool | None
    """p below alpha; None when untested (1 against 1, or no spread at all)."""


def equivalence(
    base: list[float], new: list[float], margin: float, alpha: float = ALPHA
) -> Equivalence:
    """TOST on the log values (scipy.stats.ttest_ind, pooled variance, as the t-test of
    ``compare_samples``): equivalence is shown when both one-sided tests reject, i.e. the
    ratio is significantly above 1 - margin and significantly below 1 + margin. A wide
    interval (few repetitions, noise) leaves ``equivalent`` False: "cannot tell"."""
    from scipy import stats as sps  # here: importing the report must not load scipy

    untested = Equivalence(margin, None, None, None, None)
    if len(base) + len(new) < 3 or min(base, default=0) <= 0 or min(new, default=0) <= 0:
        return untested
    lb, ln = np.log(base), np.log(new)
    if _sum_squares(lb) + _sum_squares(ln) == 0:
        return untested  # no spread: a t statistic is not defined
    low, high = math.log(1.0 - margin), math.log(1.0 + margin)
    above = sps.ttest_ind(ln - low, lb, alternative="greater")  # H0: log ratio <= low
    below = sps.ttest_ind(ln - high, lb, alternative="less")  # H0: log ratio >= high
    p = float(max(above.pvalue, below.pvalue))
    ci = sps.ttest_ind(ln, lb).confidence_interval(confidence_level=1.0 - 2.0 * alpha)
    return Equivalence(
        margin, p, math.exp(float(ci.low)), math.exp(float(ci.high)), bool(p < alpha)
    )


@dataclass(frozen=True)
class Slope:
    """A least-squares line of y against x: its slope with the 95% interval."""

    slope: float
    ci_low: float | None
    ci_high: float | None
    """None with two points only (no degree of freedom for the spread)."""
    n: int
    """Points fitted (repetitions, not distinct x)."""


def slope(x: list[float], y: list[float], alpha: float = ALPHA) -> Slope | None:
    """scipy.stats.linregress of ``y`` on ``x``; None unless x takes two values at least."""
    from scipy import stats as sps  # here: importing the report must not load scipy

    if len(x) != len(y) or len(set(x)) < 2:
        return None
    fit = sps.linregress(x, y)
    if len(x) < 3:
        return Slope(float(fit.slope), None, None, len(x))
    mid = float(fit.slope)
    half = float(sps.t.ppf(1.0 - alpha / 2.0, len(x) - 2)) * float(fit.stderr)
    return Slope(mid, mid - half, mid + half, len(x))
