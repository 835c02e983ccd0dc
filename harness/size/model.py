"""The sizing model: a deployment's peak memory against project size and task slots.

A worker holds its base (the interpreter, Airflow, the executor) plus, per slot, one task
process, and both grow with the project (each task loads the whole manifest and dbt
parses the whole project). So the fit is ordinary least squares of

    peak_mib ~ 1 + models + slots + models x slots

by statsmodels, each term kept only where the records vary in it (one slot count: no
slot terms). The 95% prediction interval is statsmodels' (``obs_ci``), which widens
with the distance from the measured points, so an extrapolation carries its own wider
interval; it is also marked as extrapolated. Leave-one-size-out validation refits
without each measured project size and predicts it, which is the error a user at an
unmeasured size can expect.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.size.deployments import Observation

if TYPE_CHECKING:
    pass

ALPHA = 0.05
"""Prediction intervals are 95%."""


@dataclass(frozen=True)
class Prediction:
    """A predicted peak at one size and slot count."""

    models: int
    slots: int
    mib: float
    low_mib: float | None
    high_mib: float | None
    """The 95% prediction interval (None: too few points for one)."""
    extrapolated: bool
    """Outside the measured range of sizes or slots."""


@dataclass(frozen=True)
class Fit:
    """A fitted sizing model."""

    terms: tuple[str, ...]
    params: tuple[float, ...]
    points: int
    sizes: tuple[int, ...]
    slots: tuple[int, ...]
    r2: float | None
    _result: Any

    def predict(self, models: int, slots: int) -> Prediction:
        """The peak at ``models`` and ``slots``, with its 95% prediction interval."""
        import numpy as np

        row = np.array([_row(self.terms, models, slots)])
        frame = self._result.get_prediction(row).summary_frame(alpha=ALPHA)
        low, high = float(frame["obs_ci_lower"].iloc[0]), float(frame["obs_ci_upper"].iloc[0])
        defined = math.isfinite(low) and math.isfinite(high)
        outside = not (min(self.sizes) <= models <= max(self.sizes)) or not (
            min(self.slots) <= slots <= max(self.slots)
        )
        return Prediction(
            models, slots, float(frame["mean"].iloc[0]),
            low if defined else None, high if defined else None, outside,
        )  # fmt: skip

    def formula(self) -> str:
        """The fitted line as text, e.g. "287 + 0.131 x models"."""
        parts = []
        for term, value in zip(self.terms, self.params, strict=True):
            if term == "1":
                parts.append(f"{value:.0f}")
            else:
                parts.append(f"{value:+.3g} x {term.replace('*', ' x ')}")
        return " ".join(parts).replace(" +", " + ").replace(" -", " - ") + " MiB"


def _row(terms: Sequence[str], models: int, slots: int) -> list[float]:
    value = {"1": 1.0, "models": float(models), "slots": float(slots),
             "models*slots": float(models * slots)}  # fmt: skip
    return [value[t] for t in terms]


def terms_for(observations: Sequence[Observation]) -> tuple[str, ...]:
    """The terms the observations can estimate."""
    sizes = {o.models for o in observations}
    slots = {o.slots for o in observations}
    terms = ["1"]
    if len(sizes) > 1:
        terms.append("models")
    if len(slots) > 1:
        terms.append("slots")
    # The growth per slot with size needs the slope over slots at two sizes at least.
    slots_at: dict[int, set[int]] = {}
    for o in observations:
        slots_at.setdefault(o.models, set()).add(o.slots)
    if sum(1 for s in slots_at.values() if len(s) > 1) >= 2:
        terms.append("models*slots")
    return tuple(terms)


def fit(observations: Sequence[Observation]) -> Fit | None:
    """The least-squares fit of the observations; None when there are too few points to
    leave a residual (then no interval can be given)."""
    # Imported here: importing the report (which shows the sizing table) must not load
    # the statistics libraries unless a size is computed.
    import numpy as np
    import statsmodels.api as sm

    terms = terms_for(observations)
    x = np.array([_row(terms, o.models, o.slots) for o in observations])
    # Sizes and slots measured only together (10 models at 2 slots, 100 at 4) cannot
    # be told apart: drop the last term until the design is of full rank.
    while len(terms) > 1 and np.linalg.matrix_rank(x) < len(terms):
        terms = terms[:-1]
        x = x[:, : len(terms)]
    if len(observations) <= len(terms):
        return None
    y = np.array([o.mib for o in observations])
    result = sm.OLS(y, x).fit()
    r2 = float(result.rsquared) if len(terms) > 1 else None
    return Fit(
        terms, tuple(float(p) for p in result.params), len(observations),
        tuple(sorted({o.models for o in observations})),
        tuple(sorted({o.slots for o in observations})), r2, result,
    )  # fmt: skip


@dataclass(frozen=True)
class Validation:
    """One measured configuration predicted by a fit made without its project size."""

    models: int
    slots: int
    measured_mib: float
    predicted: Prediction | None
    """None: without this size too few points were left to fit."""

    @property
    def error(self) -> float | None:
        """(predicted - measured) / measured."""
        if self.predicted is None:
            return None
        return (self.predicted.mib - self.measured_mib) / self.measured_mib

    @property
    def covered(self) -> bool | None:
        """Whether the measured median lies in the prediction interval."""
        p = self.predicted
        if p is None or p.low_mib is None or p.high_mib is None:
            return None
        return p.low_mib <= self.measured_mib <= p.high_mib


def leave_one_size_out(observations: Sequence[Observation]) -> list[Validation]:
    """For each measured size: fit without it, predict each of its configurations."""
    out = []
    for size in sorted({o.models for o in observations}):
        rest = [o for o in observations if o.models != size]
        model = fit(rest) if rest else None
        groups: dict[int, list[float]] = {}
        for o in observations:
            if o.models == size:
                groups.setdefault(o.slots, []).append(o.mib)
        for slots, peaks in sorted(groups.items()):
            predicted = model.predict(size, slots) if model is not None else None
            out.append(Validation(size, slots, statistics.median(peaks), predicted))
    return out
