"""The worker under the answer's configuration: the peak of a whole DAG run fitted over
the concurrencies measured as a base plus MiB per slot (least squares, 95% interval), or
the one concurrency measured."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from harness.compare.configs import axes_key, successful
from harness.compare.format import MIB, fmt_mib
from harness.compare.samples import ScenarioSamples
from harness.registry.names import DAG_RUN
from harness.registry.values import AxisValues
from harness.verdicts.deploy import Part
from harness.verdicts.recommend import Candidate

FIT_DROP = ("concurrency", "worker_limit_mib")
"""Axes the worker fit varies over (the rest of the configuration held fixed)."""


@dataclass(frozen=True)
class SlotFit:
    """Peak of a whole DAG run = base + per_slot x concurrency, over every ok repetition."""

    base_mib: float
    per_slot_mib: float
    per_slot_ci: tuple[float, float]
    concurrencies: tuple[int, ...]
    n: int


def fit_slots(points: list[tuple[int, float]]) -> SlotFit | None:
    """Least-squares line of peak MiB against concurrency; None with fewer than two
    concurrencies or three points."""
    concurrencies = tuple(sorted({c for c, _ in points}))
    if len(concurrencies) < 2 or len(points) < 3:
        return None
    from scipy.stats import linregress, t  # here: importing the report must not load scipy

    res = linregress([c for c, _ in points], [m for _, m in points])
    half = float(t.ppf(0.975, len(points) - 2)) * float(res.stderr)
    slope = float(res.slope)
    return SlotFit(
        float(res.intercept), slope, (slope - half, slope + half), concurrencies, len(points)
    )


def _worker_points(
    scenarios: dict[str, ScenarioSamples], pick: Candidate, size: int | str | None
) -> list[tuple[int, float]]:
    key = axes_key(pick.config, FIT_DROP)
    return [
        (int(s.ax.concurrency), v / MIB)
        for s in scenarios.values()
        if s.phase == DAG_RUN
        and s.size == size
        and successful(s)
        and s.ax.concurrency
        and axes_key(s.config, FIT_DROP) == key
        for v in s.values["memory"]
    ]


def worker_lines(
    scenarios: dict[str, ScenarioSamples], part: Part | None, size: int | str | None
) -> list[str]:
    """The whole run's worker under the configuration: its peak fitted over the
    concurrencies measured, or the one measured (``scenarios``: LocalExecutor ones)."""
    pick = part.candidate if part else None
    if part is None or pick is None:
        return ["not measured"]
    points = _worker_points(scenarios, pick, size)
    fit = fit_slots(points)
    if fit is None:
        c = AxisValues.of(pick.config).concurrency or "?"
        return [
            f"{fmt_mib(pick.memory)} at concurrency {c} (one concurrency measured: no per-slot fit)"
        ]
    lo, hi = fit.per_slot_ci
    lines = [
        f"{fit.base_mib:.0f} MiB + {fit.per_slot_mib:.0f} MiB per slot "
        f"(95% CI {lo:.0f}..{hi:.0f}; {fit.n} runs)"
    ]
    lines += [
        f"concurrency {c}: {fit.base_mib + fit.per_slot_mib * c:.0f} MiB "
        f"(measured {statistics.median(m for k, m in points if k == c):.0f})"
        for c in fit.concurrencies
    ]
    return lines
