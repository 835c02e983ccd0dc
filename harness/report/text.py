"""The text of the report's measured figures: units, spreads and changes."""

from __future__ import annotations

from harness.compare.format import fmt_mib, fmt_percent, fmt_seconds
from harness.compare.stats import Change, Spread
from harness.guide.rows import ChangeOverPairs

fmt_s = fmt_seconds


def fmt_pct(ratio: float) -> str:
    """A ratio as a signed whole percent."""
    return fmt_percent(ratio, digits=0)


def fmt_spread(sp: Spread, unit: str) -> str:
    """Median and interquartile range of one sample; ``unit`` "bytes" or "s"."""
    fmt = fmt_mib if unit == "bytes" else fmt_s
    if sp.n == 1:
        return f"{fmt(sp.median)} (n=1)"
    return f"{fmt(sp.median)} (IQR {fmt(sp.q1)}-{fmt(sp.q3)}, n={sp.n})"


def change_text(metric: str, c: Change) -> str:
    """ "memory 308 MiB (IQR ..., n=5) vs 210 MiB (...): +46% (CI ...)": new vs base."""
    spread = ""
    if c.ci_low is not None and c.ci_high is not None:
        spread = f" (CI {fmt_pct(c.ci_low)}..{fmt_pct(c.ci_high)})"
    unit = "bytes" if metric == "memory" else "s"
    sides = f"{fmt_spread(c.new, unit)} vs {fmt_spread(c.base, unit)}"
    return f"{metric} {sides}: {fmt_pct(c.ratio)}{spread}"


def over_pairs_text(metric: str, c: ChangeOverPairs) -> str:
    """A change summarised over pairs: "memory -35% (CI -40%..-30%)" or its range."""
    if c.note == "CI":
        spread = f" (CI {fmt_pct(c.low or 1)}..{fmt_pct(c.high or 1)})"
    elif c.note == "range":
        spread = f" ({c.n_pairs} pairs: {fmt_pct(c.low or 1)}..{fmt_pct(c.high or 1)})"
    else:
        spread = " (n=1)"
    return f"{metric} {fmt_pct(c.ratio)}{spread}"
