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

Where the records cannot support an answer, the fit refuses it and says why
(``Fit.refusal``) rather than print a number:

- a slot count or a size the fit has no term for (records at one slot count only give no
  per-slot cost: the fit would print the same peak at every slot count);
- a size not measured, for a worker whose records vary in slots but cannot give the
  per-slot cost's growth with size (``models x slots``: slots varied at two sizes or
  more): each task process loads the whole manifest, so one per-slot cost for every size
  is wrong away from the sizes measured; a size at one slot count does not give its own
  per-slot cost either;
- a size the per-slot cost's growth is carried to beyond the span of the sizes where
  slots varied, by more than that span's own ratio (slots varied at 10 and 30 models:
  not to 1000, which such a fit missed by +122%; at 10 and 1000: to 5000, within 8%);
- a project larger than the largest measured, unless a task's growth over the sizes
  fitted (TASK_MIB_PER_MODEL x their span) stands out of the fit's noise (NOISE_TIMES x
  its residual standard error). The 95% interval assumes the line is right; where the
  growth is within the noise it is not: from 10 to 100 models a task process grows some
  12 MiB, while the LocalExecutor worker's peaks there scatter by ±20-30 MiB about the
  fit (the DAG's shape, which tasks overlap: its whole runs at 10 and 30 models, 2 slots,
  differ by 60 MiB), so the slope fitted there is noise, and extrapolated tenfold it
  missed 1000 models by +92% to +387%. A single process's peaks scatter by ±1-10 MiB
  (pod per task, DAG processor), so there 10 to 100 models do show the growth. Below the
  smallest size the growth terms add little, so a prediction there is only marked as
  extrapolated.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.size.deployments import Observation

ALPHA = 0.05
"""Prediction intervals are 95%."""
TASK_MIB_PER_MODEL = 0.13
"""A task process's growth with the project: one LOCAL task is about 287 + 0.13 x models
MiB (the pod per task records, 10 to 5000 models, within about 3%)."""
NOISE_TIMES = 2.0
"""A fit extrapolates to larger projects only where a task's growth over its sizes
(TASK_MIB_PER_MODEL x their span) is at least this many residual standard errors: about
the half-width of a single peak's 95% band, so the slope over sizes is not the noise's."""


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
    beyond: str | None = None
    """Why the fit does not extrapolate beyond its largest size (None: it may)."""
    slot_sizes: tuple[int, ...] = ()
    """The sizes at which more than one slot count was measured: where the per-slot cost
    is known without a ``models x slots`` term."""

    def refusal(self, models: int, slots: int) -> str | None:
        """Why the fit gives no prediction at ``models`` and ``slots`` (None: it does)."""
        if "slots" not in self.terms and slots not in self.slots:
            return f"measured at {_listed(self.slots)} slot(s) only: no per-slot cost"
        if "models" not in self.terms and models not in self.sizes:
            return f"measured at {_listed(self.sizes)} models only: no growth with size"
        if len(self.slots) > 1 and models not in self.slot_sizes:
            if "models*slots" not in self.terms:
                # One per-slot cost for every size: wrong wherever the tasks' manifest
                # grows (a size at one slot count does not tell its own per-slot cost).
                return ("not enough comparable records: slots varied at fewer than two "
                        "sizes, so the per-slot cost's growth with size is unknown")  # fmt: skip
            # The growth is known over the sizes where slots varied; carried further than
            # that span's own ratio it is a guess (10-30 models carried to 1000 erred by
            # +122%; 10-1000 carried to 5000, by under 8%).
            low, high = min(self.slot_sizes), max(self.slot_sizes)
            if models > high * (high / low) or models < low / (high / low):
                return (f"slots varied at {_listed(self.slot_sizes)} models only: the "
                        f"per-slot cost's growth is not known as far as {models}")  # fmt: skip
        if models > max(self.sizes) and self.beyond is not None:
            return self.beyond
        return None

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


def _listed(values: Sequence[int]) -> str:
    return ", ".join(map(str, values))


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
    sizes = tuple(sorted({o.models for o in observations}))
    slot_sizes = tuple(
        m for m in sizes if len({o.slots for o in observations if o.models == m}) > 1
    )
    return Fit(
        terms, tuple(float(p) for p in result.params), len(observations), sizes,
        tuple(sorted({o.slots for o in observations})), r2, result,
        _beyond(sizes, result), slot_sizes,
    )  # fmt: skip


def _medians(observations: Sequence[Observation], size: int) -> dict[int, float]:
    """slots -> the median peak measured at ``size`` models with that many slots."""
    groups: dict[int, list[float]] = {}
    for o in observations:
        if o.models == size:
            groups.setdefault(o.slots, []).append(o.mib)
    return {slots: statistics.median(peaks) for slots, peaks in sorted(groups.items())}


def _beyond(sizes: Sequence[int], result: Any) -> str | None:
    """Why a fit over ``sizes`` with statsmodels ``result`` must not extrapolate beyond its
    largest size, or None: the growth a task process shows over the span must stand out of
    the fit's own noise (its residual standard error, lack of fit included)."""
    growth = TASK_MIB_PER_MODEL * (max(sizes) - min(sizes))
    noise = math.sqrt(result.scale) if result.df_resid > 0 else math.inf
    if growth < NOISE_TIMES * noise:
        return (
            f"does not hold beyond {max(sizes)} models: over sizes {_listed(sizes)} a "
            f"task grows ~{growth:.0f} MiB, within the fit's noise (±{noise:.0f} MiB)"
        )
    return None


@dataclass(frozen=True)
class Validation:
    """One measured configuration predicted by a fit made without its project size."""

    models: int
    slots: int
    measured_mib: float
    predicted: Prediction | None
    """None: without this size too few points were left to fit, or the fit refused."""
    refused: str | None = None
    """Why the fit made without this size gave no prediction of it (Fit.refusal)."""

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
        for slots, measured in _medians(observations, size).items():
            refused = model.refusal(size, slots) if model is not None else None
            predicted = None if model is None or refused else model.predict(size, slots)
            out.append(Validation(size, slots, measured, predicted, refused))
    return out
