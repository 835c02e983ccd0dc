"""One answer across runs: which record of a scenario measured in several runs is used.

The same scenario is often measured again in a later run (a second repetition, a check
of a surprising figure). Readers that answer across runs (``harness size``, ``harness
report RUN RUN...``) take their records from here, so every one of them uses the same
records and names the same superseded ones.

The rule, per scenario id, runs ordered by when they started:
- the newest run that measured it successfully is the reference;
- an older run's figure within ``REPRODUCED`` of the reference's is pooled with it
  (a reproduced figure: both are used);
- an older run's figure outside it is superseded, "not reproduced", and not used;
- a bisection that did not converge is superseded by any converged one.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.store.record import Record

MIB = 1024 * 1024
REPRODUCED = 0.10
"""Two runs' figures of one scenario agree when within 10% of each other: the spread
seen between runs of one configuration on the same machine (docs/ARCHITECTURE.md)."""


@dataclass(frozen=True)
class RunRecords:
    """One run's records, as a cross-run reader is handed them."""

    run_id: str
    started_at: str
    """ISO-8601 start of the run (run.json's started_at): orders runs."""
    records: Sequence[Record]


@dataclass(frozen=True)
class Superseded:
    """A scenario's records of one run that an answer across runs does not use."""

    run_id: str
    scenario_id: str
    figure_mib: float | None
    by_run_id: str
    by_figure_mib: float | None
    why: str


@dataclass(frozen=True)
class Current:
    """The records used across runs, and those left out with the reason."""

    records: list[Record]
    superseded: list[Superseded]
    pooled: dict[str, list[str]]
    """scenario id -> the runs whose records of it are used together: within 10% of each
    other (reproduced), or failed in every run (a failure is an outcome too); the runs in
    the order they started."""


def headline_mib(r: Record) -> float | None:
    """The figure that sizes a record's deployment, in MiB: a bisection's smallest
    limit, a Celery run's largest worker, else the measured tree's peak."""
    if r.status != "ok":
        return None
    limit = r.figs.min_limit_mib
    if isinstance(limit, int | float) and limit > 0:
        return float(limit)
    largest = r.figs.workers_peak_max_bytes
    if isinstance(largest, int | float) and largest > 0:
        return largest / MIB
    if r.measure is None or not r.measure.peak_tree_bytes:
        return None
    return r.measure.peak_tree_bytes / MIB


def _median(records: Iterable[Record]) -> float | None:
    values = [v for r in records if (v := headline_mib(r)) is not None]
    return statistics.median(values) if values else None


def _converged(records: Sequence[Record]) -> bool:
    return all(r.figs.converged is not False for r in records)


def current_records(runs: Sequence[RunRecords]) -> Current:
    """The records an answer across ``runs`` uses, with the superseded ones named."""
    ordered = sorted(runs, key=lambda run: run.started_at)
    by_scenario: dict[str, list[tuple[RunRecords, list[Record]]]] = {}
    for run in ordered:
        groups: dict[str, list[Record]] = {}
        for r in run.records:
            groups.setdefault(r.scenario_id, []).append(r)
        for sid, recs in groups.items():
            by_scenario.setdefault(sid, []).append((run, recs))
    used: list[Record] = []
    superseded: list[Superseded] = []
    pooled: dict[str, list[str]] = {}
    for sid, measured in by_scenario.items():
        ref_run, ref_recs = _reference(measured)
        ref_mib = _median(ref_recs)
        used.extend(ref_recs)
        runs_used = [ref_run.run_id]
        for run, recs in measured:
            if run is ref_run:
                continue
            mib = _median(recs)
            why = _why_not(recs, mib, ref_run.run_id, ref_recs, ref_mib)
            if why is None:
                used.extend(recs)
                runs_used.append(run.run_id)
            else:
                superseded.append(Superseded(run.run_id, sid, mib, ref_run.run_id, ref_mib, why))
        if len(runs_used) > 1:
            order = [run.run_id for run, _ in measured]
            pooled[sid] = sorted(runs_used, key=order.index)
    return Current(used, superseded, pooled)


def _reference(
    measured: list[tuple[RunRecords, list[Record]]],
) -> tuple[RunRecords, list[Record]]:
    """The newest run with a successful, converged measurement (else the newest)."""
    good = [(run, recs) for run, recs in measured if _median(recs) is not None]
    converged = [(run, recs) for run, recs in good if _converged(recs)]
    return (converged or good or measured)[-1]


def _why_not(
    recs: list[Record], mib: float | None, ref_run: str, ref: list[Record], ref_mib: float | None
) -> str | None:
    """Why a run's records of a scenario are not used beside the reference's (run
    ``ref_run``, the newest with a converged success: it may be older than this one)."""
    if mib is None or ref_mib is None:
        return None if mib is None and ref_mib is None else f"it failed here; {ref_run} measured it"
    if not _converged(recs) and _converged(ref):
        return f"its bisection did not converge; {ref_run}'s did"
    if abs(mib - ref_mib) > REPRODUCED * ref_mib:
        return (
            f"not reproduced: {mib:.0f} MiB against {ref_mib:.0f} MiB in {ref_run} "
            f"(more than {REPRODUCED:.0%} apart)"
        )
    return None
