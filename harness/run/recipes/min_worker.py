"""The smallest worker that survives: bisection of the memory limit (enforced by the
cgroup) under which a run still succeeds.

min_worker bisects the whole DAG run: under LocalExecutor the limit is on the
measured tree (the scheduler loop and its workers); under CeleryExecutor it is on
each Celery worker's cgroup, the size of a worker node at its worker_concurrency
(harness.stack.celery). pod_size bisects one task as `airflow tasks test` runs it, DAG
re-import included: the memory limit of a KubernetesExecutor pod for that task.

The search starts from one run without a limit (its peak P: of the tree, or of the
largest Celery worker); the limit 1.1 x P is checked to succeed (if it fails, 1.25 x P
and 1.5 x P: one free run's peak is not the need, runs of the same scenario peak a few
percent apart), 0 is taken to fail, and the interval is halved until it is narrower
than PRECISION of its upper end or the scenario's bisect_steps run out. A probe that
fails without an OOM kill is run once more before it counts: the limit does not
explain it, and a bisection must not take one flaky run for the boundary. Each
probe is a complete run in its own workspace state (cold cache, empty warehouse), so
a failure under a limit cannot leave anything for the next probe. Each probe's
outcome is kept as it ends (``Context.probe_log``): a bisection at 100 models is hours
of whole DAG runs, and a resumed run continues it instead of starting again.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import InputWarning
from harness.measure.result import MeasureResult
from harness.registry.figures import PodSizeFigures
from harness.run.context import Context, Outcome
from harness.run.recipes.dag_run import run_dag_run
from harness.run.recipes.task import run_task
from harness.store.jsonl import skipped_message
from harness.store.record import RecordStatus
from harness.store.validate import loads, type_problem

PRECISION = 0.05
CEILINGS = (1.1, 1.25, 1.5)
"""The limits tried above the free run's peak, in order, until one succeeds."""
REPEATED = frozenset({"error", "timeout"})
"""Failures a probe repeats once: not an OOM kill, so not explained by the limit."""
MIB = 1024 * 1024
Recipe = Callable[[Context], Outcome]
Probe = tuple[Outcome, dict[str, Any]]
"""A probe's outcome and its row in the record's ``probes``."""
Key = tuple[int | None, int]
"""A probe's limit (None: without one) and attempt (1: the repeat of a failure)."""


def ceilings(peak_mib: float) -> list[int]:
    """The limits (MiB) tried above a free run's recorded peak, in order: CEILINGS x the
    peak, rounded up (650 x 1.1 is 715, not 716: the float product is rounded first)."""
    return [math.ceil(round(peak_mib * factor, 6)) for factor in CEILINGS]


def limited_peak_bytes(outcome: Outcome) -> int | None:
    """The peak the limit acts on: the largest Celery worker's, else the measured tree's."""
    workers = outcome.figures.get("workers")
    if workers:
        return max(int(w.get("peak_tree_bytes") or 0) for w in workers)
    return outcome.measure.peak_tree_bytes if outcome.measure else None


@dataclasses.dataclass(frozen=True)
class SavedProbe:
    """One line of a bisection's probe file (_save_probe), as a resume reads it back."""

    limit_mib: int | None
    attempt: int
    status: RecordStatus
    reason: str | None
    measure: MeasureResult | None
    figures: dict[str, Any]
    row: dict[str, Any]
    """The probe's row in the record (limit_mib, status, peak_mib, wall_s ...)."""


ROW_KEYS = ("limit_mib", "status", "peak_mib")


def saved_probes(path: Path | None, note: Callable[[str], None] | None = None) -> dict[Key, Probe]:
    """The probes an earlier, interrupted attempt of this bisection finished, by limit
    (None: the run without one) and attempt. A line cut short by the interruption is
    skipped; a complete line that is not a probe (damaged, hand-edited) is skipped with
    one warning (``note`` and an InputWarning): that probe is measured again."""
    out: dict[Key, Probe] = {}
    if path is None or not path.is_file():
        return out
    bad: list[tuple[int, str]] = []
    try:
        lines = path.read_bytes().split(b"\n")[:-1]  # the last: empty, or a line cut short
    except OSError as exc:
        lines, bad = [], [(0, f"cannot read: {exc.strerror}")]
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            key, probe = _saved_probe(raw)
        except (ValueError, TypeError) as exc:  # MeasureResult.from_dict: TypeError
            bad.append((number, str(exc)))
            continue
        out[key] = probe
    if bad:
        message = skipped_message(path, bad, "probe") + "; they are measured again"
        warnings.warn(InputWarning(message), stacklevel=2)
        if note:
            note(f"warning: {message}")
    return out


def _saved_probe(raw: bytes) -> tuple[Key, Probe]:
    """One line of a probe file, checked: its key and probe; ValueError (a
    UnicodeDecodeError too) or TypeError saying what is wrong."""
    d = loads(raw.decode("utf-8"))  # finite numbers, bounded depth
    if not isinstance(d, dict):
        raise ValueError(f"expected an object, got {type(d).__name__}")
    d.setdefault("attempt", 0)  # logs before repeats: attempt 0
    problem = _probe_problem(d)
    if problem is not None:
        raise ValueError(problem)
    m = MeasureResult.from_dict(d["measure"]) if d["measure"] else None
    key = (d["limit_mib"], d["attempt"])
    return key, (Outcome(d["status"], m, d["reason"], d["figures"]), d["row"])


def _probe_problem(d: dict[str, Any]) -> str | None:
    """Why a probe file's line (parsed) is not a probe _save_probe wrote; None if it is."""
    missing = [k for k in ("limit_mib", "status", "reason", "measure", "figures", "row")
               if k not in d]  # fmt: skip
    if missing:
        return f"no {missing[0]}"
    problem = type_problem(d, SavedProbe, "probe")
    if problem is not None:
        return problem
    if d["attempt"] not in (0, 1):
        return f"probe.attempt: expected 0 or 1, got {d['attempt']}"
    if d["status"] == "ok" and d["measure"] is None:
        return "probe.measure: a successful probe without its measurement"
    missing = [k for k in ROW_KEYS if k not in d["row"]]
    if missing:
        return f"no row.{missing[0]}"
    # The figures a record keeps of its best probe, and the workers' peaks the limit acts on.
    problem = type_problem(d["figures"], PodSizeFigures, "probe.figures")
    if problem is not None:
        return problem
    for i, w in enumerate(d["figures"].get("workers") or []):
        if type_problem(w.get("peak_tree_bytes"), int | None, ""):
            return f"probe.figures.workers[{i}].peak_tree_bytes: expected a whole number"
    return None


def _save_probe(path: Path | None, key: Key, outcome: Outcome, row: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    m = outcome.measure.to_dict() if outcome.measure else None
    line = {"limit_mib": key[0], "attempt": key[1], "status": outcome.status,
            "reason": outcome.reason,
            "measure": m, "figures": outcome.figures, "row": row}
    with path.open("a") as fh:
        fh.write(json.dumps(line, default=str) + "\n")
        # as results.jsonl's lines (store.jsonl.ResultsWriter): a probe is minutes of work
        fh.flush()
        os.fsync(fh.fileno())


def _probe(recipe: Recipe, ctx: Context, key: Key, saved: dict[Key, Probe]) -> Probe:
    if key in saved:
        _note(ctx, saved[key][1], "kept from before the resume")
        return saved[key]
    limit_mib = key[0]
    outcome = recipe(dataclasses.replace(ctx, limit_mib=limit_mib or 0))
    m, peak = outcome.measure, limited_peak_bytes(outcome)
    row: dict[str, Any] = {
        "limit_mib": limit_mib,
        "status": outcome.status,
        "peak_mib": round(peak / MIB, 1) if peak is not None else None,
        "wall_s": round(m.wall_s, 2) if m else None,
        "ended_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if outcome.status != "ok":
        row["reason"] = (outcome.reason or "")[:300]
    if key[1]:
        row["attempt"] = key[1]
    _save_probe(ctx.probe_log, key, outcome, row)
    _note(ctx, row, f"{row['wall_s']} s")
    return outcome, row


def _judged(recipe: Recipe, ctx: Context, limit_mib: int | None, saved: dict[Key, Probe],
            probes: list[dict[str, Any]]) -> Outcome:
    """The outcome that decides a limit: its probe, and the repeat of a failure that was
    not an OOM kill (the repeat decides). Every row goes into ``probes``."""
    outcome, row = _probe(recipe, ctx, (limit_mib, 0), saved)
    probes.append(row)
    if outcome.status in REPEATED:
        outcome, row = _probe(recipe, ctx, (limit_mib, 1), saved)
        probes.append(row)
    return outcome


def _note(ctx: Context, row: dict[str, Any], how: str) -> None:
    if ctx.note:
        limit = f"{row['limit_mib']} MiB" if row["limit_mib"] else "no limit"
        ctx.note(f"probe at {limit}: {row['status']}, peak {row['peak_mib']} MiB ({how})")


def bisect_limit(recipe: Recipe, ctx: Context) -> Outcome:
    """Find the smallest limit (MiB, to within PRECISION) under which ``recipe`` succeeds.
    Probes in ``ctx.probe_log`` are taken as measured: the same limits come in the same
    order, so a resumed bisection goes on where it was cut."""
    saved = saved_probes(ctx.probe_log, ctx.note)
    probes: list[dict[str, Any]] = []
    free = _judged(recipe, ctx, None, saved, probes)
    peak = limited_peak_bytes(free)
    if free.status != "ok" or peak is None:
        reason = f"the run fails without a limit: {free.reason}"
        return Outcome("error", free.measure, reason, {"probes": probes})
    # The ceilings are taken from the peak as recorded (0.1 MiB), so a reader of the record
    # finds the same limits: 451.84 MiB x 1.1 would ask for 498, the record's 451.8 for 497.
    peak_mib = round(peak / MIB, 1)
    lo = 0
    for hi in ceilings(peak_mib):
        best = _judged(recipe, ctx, hi, saved, probes)
        if best.status == "ok":
            break
        lo = hi
    else:
        return Outcome(
            "error",
            best.measure,
            f"fails under {CEILINGS[-1]} x its own peak ({hi} MiB)",
            {"probes": probes, "unlimited_peak_mib": peak_mib},
        )
    steps = 0
    while (hi - lo) / hi > PRECISION and steps < ctx.bisect_steps:
        mid = (lo + hi) // 2
        outcome = _judged(recipe, ctx, mid, saved, probes)
        steps += 1
        if outcome.status == "ok":
            hi, best = mid, outcome
        else:
            lo = mid
    figures = {
        "min_limit_mib": hi,
        "max_failing_limit_mib": lo,
        "precision": round((hi - lo) / hi, 4),
        "converged": (hi - lo) / hi <= PRECISION,
        "unlimited_peak_mib": peak_mib,
        "repeated_probes": sum(1 for p in probes if p.get("attempt")),
        "probes": probes,
    }
    keep = ("task_id", "role", "sample", "executor", "workers", "services", "celery_stack",
            "selected_models", "tasks_in_flight_max")
    figures.update({k: best.figures[k] for k in keep if k in best.figures})
    return Outcome("ok", best.measure, None, figures)


def run_min_worker(ctx: Context) -> Outcome:
    """The smallest worker limit under which the whole DAG run succeeds."""
    return bisect_limit(run_dag_run, ctx)


def run_pod_size(ctx: Context) -> Outcome:
    """The smallest pod limit under which one task (`airflow tasks test`) succeeds."""
    return bisect_limit(run_task, ctx)
