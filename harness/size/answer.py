"""How much memory to give a deployment: measured where the harness measured it, else
predicted by the sizing model, with the records it came from and the margin stated."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.size.deployments import (
    BISECTIONS,
    PRODUCER_TASK,
    Deployment,
    Observation,
    deployments_for,
    executor_of,
    in_sizing_config,
    measures,
    models_of,
    named,
    observations,
)
from harness.size.model import Fit, Prediction, Validation, fit, leave_one_size_out
from harness.store.current import REPRODUCED
from harness.store.record import Record

MARGIN = REPRODUCED
"""What is added to a peak for run-to-run spread: runs of one configuration on one
machine peak up to 10% apart (harness.store.current), so one run's peak is not a size."""
ROUND_TO_MIB = 16


@dataclass(frozen=True)
class Request:
    """What the user runs."""

    models: int
    executor: str
    slots: int = 1
    mode: str = "LOCAL"
    invocation: str = "DBT_RUNNER"


@dataclass(frozen=True)
class Sized:
    """One deployment's answer."""

    deployment: str
    doc: str
    give_mib: int | None
    """The memory to give it: the measured peak's largest, or the prediction's upper
    95% bound, whichever the basis, plus MARGIN, and at least a bisection's smallest
    limit at this size and slots; None when nothing answers."""
    basis: str
    """measured, predicted, extrapolated, failed (every measurement at this size and
    slots failed), refused (the model does not answer here: ``refused`` says why) or
    none."""
    measured_mib: list[float] = field(default_factory=list)
    prediction: Prediction | None = None
    formula: str | None = None
    smallest_limit_mib: int | None = None
    """A bisection's smallest limit under which it ran, where one was measured."""
    raised_to_limit: bool = False
    """The give is that smallest limit: the peaks' answer was below a limit under which
    the bisection's probe was OOM-killed."""
    sources: list[str] = field(default_factory=list)
    """The runs whose records it came from, with their record counts."""
    failures: list[str] = field(default_factory=list)
    """Measurements of it at this size and slots that failed (a timeout, an OOM kill, an
    error), each "status: reason (run)": a failure is an outcome, not a gap."""
    fit_points: int = 0
    fit_sizes: tuple[int, ...] = ()
    fit_slots: tuple[int, ...] = ()
    validation: list[Validation] = field(default_factory=list)
    refused: str | None = None
    """Why the model gives no prediction here (Fit.refusal), where it gives none."""
    producer_floor: Sized | None = None
    """Under WATCHER, for a deployment that holds the producer and was measured at this
    size by run_nodes slices only (or not at all): the producer's own task's answer
    (PRODUCER_TASK), building the whole project, which the give is at least."""
    raised_to_producer: bool = False
    """The give is the producer_floor's: the slices' answer was below it."""


def round_up(mib: float) -> int:
    """A size as it is given: whole ROUND_TO_MIB blocks, rounded up."""
    return int(math.ceil(mib / ROUND_TO_MIB) * ROUND_TO_MIB)


def _sources(obs: list[Observation]) -> list[str]:
    runs: dict[str, int] = {}
    for o in obs:
        runs[o.record.run_id] = runs.get(o.record.run_id, 0) + 1
    return [f"{run} ({n})" for run, n in sorted(runs.items())]


def _smallest_limit(
    d: Deployment, records: list[Record], req: Request, slots: int
) -> int | None:
    phase = BISECTIONS.get(d.executor)
    limits = [
        int(r.figs.min_limit_mib)
        for r in records
        if r.phase == phase and r.status == "ok" and in_sizing_config(r)
        and r.ax.execution_mode == req.mode
        and models_of(r) == req.models
        and (phase != "min_worker" or executor_of(r) == d.executor)
        and d.slots_of(r) == slots
        and r.ax.execution_invocation in (None, req.invocation)
        and r.figs.min_limit_mib
    ]  # fmt: skip
    return max(limits) if limits else None


def _failures(d: Deployment, records: list[Record], req: Request, slots: int) -> list[str]:
    out = []
    for r in records:
        if r.status in ("ok", "invalid") or not measures(d, r, req.mode, req.invocation):
            continue
        if models_of(r) != req.models or d.slots_of(r) != slots:
            continue
        what, detail = _what_failed(d, r)
        out.append(f"{r.status}: {what} ({detail}{r.run_id})")
    return out


def _what_failed(d: Deployment, r: Record) -> tuple[str, str]:
    """A failed run's cause, short: a DAG run with a failed task says which task, when,
    and the deployment's peak by then (a lower bound of what it needs); else the
    record's reason's first line. (what, detail ending in "; " or empty)."""
    failed = sorted(t for t, state in r.figs.task_states().items() if state == "failed")
    peaks = d.peaks(r)
    if failed and peaks and isinstance(r.figs.tasks, dict):
        task = failed[0]
        took = r.figs.tasks[task].get("duration_s") or 0
        return f"a task failed at {max(peaks):.0f} MiB", f"{task} after {took:.0f} s; "
    return ((r.reason or "").strip().splitlines()[0][:120] if r.reason else ""), ""


def size_one(
    d: Deployment, records: list[Record], req: Request, validate: bool = False
) -> Sized:
    """The answer for deployment ``d`` at the request's size and slots; ``validate``: with
    the model's leave-one-size-out errors (a refit per measured size, so only on request)."""
    obs = observations(d, records, req.mode, req.invocation)
    slots = req.slots if d.slots_axis else 1
    at_size = [o for o in obs if o.models == req.models and o.slots == slots]
    here = [o.mib for o in at_size]
    model: Fit | None = fit(obs)
    refused = model.refusal(req.models, slots) if model else None
    prediction = model.predict(req.models, slots) if model and not refused else None
    failures = _failures(d, records, req, slots)
    if failures and not here:
        # Nothing this size succeeded: no memory makes it work (a timeout is not memory).
        basis, give = "failed", None
    elif here:
        basis, give = "measured", max(here) * (1 + MARGIN)
    elif prediction is not None:
        basis = "extrapolated" if prediction.extrapolated else "predicted"
        give = max(prediction.high_mib or prediction.mib, prediction.mib * (1 + MARGIN))
    elif refused:
        basis, give = "refused", None
    else:
        basis, give = "none", None
    smallest = _smallest_limit(d, records, req, slots)
    # A bisection that OOM-killed the worker under a limit above the peaks' answer
    # overrules it: a probe at that size needed the smallest limit (sizing-20261207: at
    # 1000 models and 4 slots, 2298 MiB against DAG runs that peaked at 1311-1322).
    raised = give is not None and smallest is not None and smallest > give
    if raised:
        give = smallest
    floor = _producer_floor(d, records, req, at_size)
    to_floor = bool(give and floor and floor.give_mib and floor.give_mib > give)
    if to_floor and floor is not None:
        give = floor.give_mib
    return Sized(
        deployment=d.name, doc=d.doc, give_mib=round_up(give) if give else None, basis=basis,
        measured_mib=sorted(round(m, 1) for m in here), prediction=prediction,
        formula=model.formula() if model else None,
        smallest_limit_mib=smallest, raised_to_limit=raised, sources=_sources(obs),
        failures=failures,
        fit_points=model.points if model else 0, fit_sizes=model.sizes if model else (),
        fit_slots=model.slots if model else (),
        validation=leave_one_size_out(obs) if validate else [], refused=refused,
        producer_floor=floor, raised_to_producer=to_floor,
    )  # fmt: skip


def _producer_floor(
    d: Deployment, records: list[Record], req: Request, at_size: list[Observation]
) -> Sized | None:
    """The answer of WATCHER's producer as one task at the request's size, where ``d``
    holds the producer and no whole DAG run (run_nodes 0) measured it there (``at_size``:
    its observations at the request's size and slots): a whole run's peak holds the
    producer's whole build."""
    if not d.sliced_producer(req.mode, (o.record for o in at_size)):
        return None
    task = named(PRODUCER_TASK)
    floor = size_one(task, records, Request(req.models, task.executor, 1, req.mode,
                                            req.invocation))  # fmt: skip
    return floor if floor.give_mib else None


def size(records: list[Record], req: Request) -> list[Sized]:
    """Every deployment the request names (a WATCHER Celery run: the producer's worker
    and the sensors' worker), then the DAG processor that parses the project."""
    asked = deployments_for(req.executor, req.mode) + deployments_for("dag_processor", req.mode)
    return [size_one(d, records, req, validate=True) for d in asked]
