"""The concurrency sweep: where more concurrency stops paying for a whole DAG run.

The dag_run scenarios of one configuration and size that differ only in concurrency
form a sweep; more concurrency stops paying at the smallest value beyond which no value
measured (up to the first that failed) cuts the median wall time by MIN_GAIN or more, or
the next one fails. The recommendations' "fastest" reads the same medians.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.compare.configs import axes_key, config_label, size_sort_key, varying_axes
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Spread, spread
from harness.store import figures as fig
from harness.store.runinfo import RunInfo

MIN_GAIN = 0.10
"""More concurrency "pays" while the next value measured cuts the median wall time by
at least this fraction."""


def spread_of(values: list[float]) -> Spread | None:
    """The spread of ``values``; None when there are none."""
    return spread(values) if values else None


@dataclass(frozen=True)
class SweepPoint:
    """One concurrency of a sweep: the spread of each metric over its ok repetitions."""

    concurrency: int
    scenario_id: str
    n_ok: int
    n: int
    time: Spread | None
    """Wall time of the whole measurement (the `airflow dags test` tree)."""
    memory: Spread | None
    slots: Spread | None
    dag_run_s: Spread | None
    """The DagRun's own duration from the metadata database (no CLI start-up)."""


@dataclass(frozen=True)
class Sweep:
    """The dag_run scenarios of one configuration and size that differ only in concurrency."""

    size: int | str | None
    label: str
    points: tuple[SweepPoint, ...]
    """In ascending concurrency."""
    stops_after: int | None
    """The smallest concurrency beyond which no concurrency measured (up to the first
    that failed) improves the median wall time by MIN_GAIN or more, or the next one
    fails; None: the highest measured is still the one to beat."""
    next_ratio: float | None
    """The fastest median wall time above ``stops_after`` / its own (None: the next
    failed)."""

    @property
    def next_concurrency(self) -> int | None:
        """The concurrency measured after ``stops_after`` (the one that failed, or the
        fastest above it)."""
        if self.stops_after is None:
            return None
        values = [p.concurrency for p in self.points]
        i = values.index(self.stops_after)
        above = []
        for p in self.points[i + 1 :]:
            if p.time is None:
                break
            above.append(p)
        if not above:
            return values[i + 1] if i + 1 < len(values) else None
        return min(above, key=lambda p: p.time.median if p.time else float("inf")).concurrency


def stops_paying(points: Iterable[SweepPoint]) -> tuple[int | None, float | None]:
    """(concurrency, ratio) where more concurrency stops paying (see Sweep.stops_after);
    ``points`` in ascending concurrency. Each concurrency is held against the fastest
    measured above it (up to the first that failed), not only the next: the figure the
    recommendations' "fastest" reads, so the two cannot disagree (a dip at 2 before a
    gain at 4 is not "stops paying beyond 1" while 4 is recommended as the fastest)."""
    pts = list(points)
    for i, a in enumerate(pts):
        if a.time is None:
            continue  # nothing to improve on: this concurrency failed
        above: list[SweepPoint] = []
        for b in pts[i + 1 :]:
            if b.time is None:
                break
            above.append(b)
        if not above:
            failed = i + 1 < len(pts)
            return (a.concurrency, None) if failed else (None, None)
        ratio = min(b.time.median for b in above if b.time) / a.time.median
        if ratio > 1.0 - MIN_GAIN:
            return a.concurrency, ratio
    return None, None


def _sweep_point(s: ScenarioSamples) -> SweepPoint:
    ok = [r for r in s.records if r.status == "ok"]
    return SweepPoint(
        s.ax.concurrency or 0,  # concurrency_sweeps keeps only scenarios with one
        s.scenario_id,
        s.n_ok,
        sum(s.statuses.values()),
        spread_of(s.values.get("time", [])),
        spread_of(s.values.get("memory", [])),
        spread_of(s.values.get("slots", [])),
        spread_of(fig.numbers(r.figs.dag_run_s for r in ok)),
    )


def concurrency_sweeps(scenarios: dict[str, ScenarioSamples]) -> list[Sweep]:
    """Every configuration and size of dag_run measured at two concurrencies or more."""
    of = [s for s in scenarios.values() if s.phase == "dag_run" and s.ax.concurrency]
    axes = [a for a in varying_axes(of) if a != "concurrency"]
    groups: dict[tuple[tuple[str, str], ...], list[ScenarioSamples]] = {}
    for s in of:
        groups.setdefault(axes_key(s.axes, ("concurrency",)), []).append(s)
    out = []
    for group in groups.values():
        if len({s.ax.concurrency for s in group}) < 2:
            continue
        points = tuple(sorted((_sweep_point(s) for s in group), key=lambda p: p.concurrency))
        stop, ratio = stops_paying(points)
        out.append(Sweep(group[0].size, config_label(group[0].config, axes), points, stop, ratio))
    return sorted(out, key=lambda w: (size_sort_key(w.size), w.label))


def machine_cores(info: RunInfo) -> int | None:
    """The logical core count of the machine the run was measured on (run.json)."""
    cores = info.machine.cores_logical if info.machine else None
    return cores if isinstance(cores, int) else None  # several runs may disagree: text
