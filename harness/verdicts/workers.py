"""Celery workers as the report reads them (harness.stack.celery writes them).

A CeleryExecutor dag_run record measures the scheduler loop (`airflow dags test`) as its
own peak; each Celery worker is in ``figures.workers`` with its own peak and the tasks it
ran, and the broker, API server and triggerer are in ``figures.services``. Here each
scenario becomes one CeleryRun: per worker, the largest worker and the workers' sum over
its ok repetitions, WATCHER's producer worker apart from its sensors' workers, and the
services beside them, never added to a worker's figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.compare.configs import (
    ConfigKey,
    axes_key,
    config_label,
    on_celery,
    size_sort_key,
    varying_axes,
)
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Spread
from harness.registry.names import DAG_RUN
from harness.registry.values import AxisValues
from harness.store import figures as fig
from harness.store.record import Record
from harness.verdicts import minworker as mw
from harness.verdicts.sweep import spread_of

PRODUCER = "producer"
"""The role of WATCHER's producer worker (harness.stack.celery.plan_workers)."""
NAMED = ("execution_mode", "execution_invocation", "worker_concurrency")
"""The options the Celery tables have a column for (besides the size)."""
SERVICES = ("scheduler", "broker", "api_server", "triggerer")
"""What runs beside the workers: the scheduler loop (the record's own measurement) and
figures.services."""
LIMIT_AXES = ("worker_limit_mib",)
"""A DAG run's limit does not change what it needs; a min_worker bisection has no such axis."""


@dataclass(frozen=True)
class WorkerFigure:
    """One Celery worker over the ok repetitions of a scenario."""

    name: str
    role: str
    peak: Spread | None
    tasks: tuple[int, ...]
    """The tasks it ran, one count per repetition."""
    failed: tuple[str, ...] = ()
    """Its status where it was not ok (an OOM kill), one per repetition that says so."""


@dataclass(frozen=True)
class CeleryRun:
    """One CeleryExecutor dag_run scenario: its workers and what runs beside them."""

    scenario_id: str
    size: int | str | None
    config: dict[str, Any]
    other: str
    """Options that vary besides NAMED (as in the smallest-worker table)."""
    n_ok: int
    n: int
    reasons: tuple[str, ...]
    workers: tuple[WorkerFigure, ...]
    largest: Spread | None
    """The largest worker's peak (one value per repetition): the size of a worker node."""
    total: Spread | None
    """The workers' peaks summed: what they hold together at most."""
    producer: Spread | None
    """WATCHER's producer worker's peak."""
    sensors: Spread | None
    """The largest peak of the workers of the default queue (WATCHER's sensors)."""
    tasks_run: tuple[int, ...]
    """Tasks the workers ran (their logs), per repetition."""
    dag_tasks: tuple[int, ...]
    """Tasks of the DAG run (Airflow's metadata), per repetition."""
    deferred: tuple[int | None, ...]
    """Tasks seen deferred per repetition (None: not recorded)."""
    time: Spread | None
    services: dict[str, Spread] = field(default_factory=dict)
    smallest: mw.MinWorker | None = None
    """The min_worker bisection of the same configuration and size (None: not run)."""
    stack: dict[str, Any] = field(default_factory=dict)

    @property
    def watcher(self) -> bool:
        """WATCHER: one more worker took the producer's queue."""
        return AxisValues.of(self.config).execution_mode == "WATCHER"


def celery_key(size: int | str | None, config: dict[str, Any]) -> tuple[Any, ConfigKey]:
    """What ties a Celery dag_run to its min_worker bisection."""
    return size, axes_key(config, drop=LIMIT_AXES)


def smallest_celery_workers(
    scenarios: dict[str, ScenarioSamples],
) -> dict[tuple[Any, ConfigKey], mw.MinWorker]:
    """(size, configuration) -> its Celery min_worker bisection: the successful one with
    the largest limit over repetitions (every one fits), else the first that failed."""
    out: dict[tuple[Any, ConfigKey], mw.MinWorker] = {}
    for m in mw.min_workers(scenarios, keep=on_celery):
        key = celery_key(m.size, m.axes)
        best = out.get(key)
        found = m.status == "ok" and m.min_limit_mib is not None
        if (
            best is None
            or (found and best.status != "ok")
            or (found and (m.min_limit_mib or 0) > (best.min_limit_mib or 0))
        ):
            out[key] = m
    return out


def _workers(r: Record) -> list[dict[str, Any]]:
    """figures.workers of one record (none under the LocalExecutor)."""
    return [w for w in r.figs.workers or [] if isinstance(w, dict)]


def _peaks(r: Record) -> list[tuple[str, str, float | None]]:
    """(name, role, peak bytes) of each worker of one record."""
    return [
        (str(w.get("name")), str(w.get("role")), fig.number(w.get("peak_tree_bytes")))
        for w in _workers(r)
    ]


def _worker_figures(records: list[Record], ok: list[Record]) -> tuple[WorkerFigure, ...]:
    order: dict[str, str] = {}
    for r in records:
        for name, role, _ in _peaks(r):
            order.setdefault(name, role)
    out = []
    for name, role in order.items():
        rows = [w for r in ok for w in _workers(r) if w.get("name") == name]
        failed = tuple(
            str(w.get("status"))
            for r in records
            for w in _workers(r)
            if w.get("name") == name and w.get("status") not in (None, "ok")
        )
        out.append(
            WorkerFigure(
                name,
                role,
                spread_of(fig.numbers(w.get("peak_tree_bytes") for w in rows)),
                tuple(int(w.get("tasks") or 0) for w in rows),
                failed,
            )
        )
    return tuple(out)


def _per_record(ok: list[Record]) -> dict[str, list[float]]:
    """Each per-repetition figure of the workers, one value per ok repetition."""
    out: dict[str, list[float]] = {"largest": [], "total": [], "producer": [], "sensors": []}
    for r in ok:
        peaks = _peaks(r)
        known = [p for _, _, p in peaks if p is not None]
        if not known:
            continue
        out["largest"].append(max(known))
        out["total"].append(sum(known))
        producer = [p for _, role, p in peaks if role == PRODUCER and p is not None]
        queue = [p for _, role, p in peaks if role != PRODUCER and p is not None]
        if producer:
            out["producer"].append(max(producer))
            if queue:
                out["sensors"].append(max(queue))
    return out


def _services(s: ScenarioSamples, ok: list[Record]) -> dict[str, Spread]:
    values: dict[str, list[float]] = {"scheduler": list(s.values.get("memory", []))}
    for r in ok:
        for name, f in (r.figs.services or {}).items():
            peak = fig.number(f.get("peak_tree_bytes")) if isinstance(f, dict) else None
            if peak is not None:
                values.setdefault(name, []).append(peak)
    return {k: sp for k, v in values.items() if (sp := spread_of(v)) is not None}


def _deferred(r: Record) -> int | None:
    found = r.figs.deferred_tasks
    return len(found) if isinstance(found, list) else None


def _stack(records: list[Record]) -> dict[str, Any]:
    """The versions of Celery, its provider and the broker the first record names."""
    return next((dict(f) for r in records if isinstance(f := r.figs.celery_stack, dict)), {})


def celery_runs(scenarios: dict[str, ScenarioSamples]) -> list[CeleryRun]:
    """Every CeleryExecutor dag_run scenario, by size, configuration and worker_concurrency."""
    of = [s for s in scenarios.values() if s.phase == DAG_RUN and on_celery(s.config)]
    other = [a for a in varying_axes(of) if a not in NAMED and a not in LIMIT_AXES]
    smallest = smallest_celery_workers(scenarios)
    out = []
    for s in of:
        ok = [r for r in s.records if r.status == "ok"]
        per = _per_record(ok)
        out.append(
            CeleryRun(
                s.scenario_id,
                s.size,
                s.config,
                config_label(s.config, other) if other else "",
                s.n_ok,
                sum(s.statuses.values()),
                tuple(dict.fromkeys(s.reasons)),
                _worker_figures(s.records, ok),
                spread_of(per["largest"]),
                spread_of(per["total"]),
                spread_of(per["producer"]),
                spread_of(per["sensors"]),
                tuple(sum(int(w.get("tasks") or 0) for w in _workers(r)) for r in ok),
                tuple(len(t) if isinstance(t := r.figs.tasks, dict) else 0 for r in ok),
                tuple(_deferred(r) for r in ok),
                spread_of(s.values.get("time", [])),
                _services(s, ok),
                smallest.get(celery_key(s.size, s.config)),
                _stack(s.records),
            )
        )
    return sorted(out, key=_order)


def _order(c: CeleryRun) -> tuple[Any, ...]:
    a = AxisValues.of(c.config)
    return (
        size_sort_key(c.size),
        str(a.execution_mode),
        str(a.execution_invocation),
        c.other,
        int(a.worker_concurrency or 0),
    )
