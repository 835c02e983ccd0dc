"""The deployments a user sizes, declared once: which records measure each, and how.

A deployment is the machine (or pod, or process) that must hold a peak: a LocalExecutor
worker, a Celery worker at worker_concurrency K (under WATCHER, the producer's worker and
the sensors' worker apart), a pod per task, the DAG processor. Each reads its
observations (project size, slots, peak MiB) from records of the sizing configuration:
the settings the harness recommends for workers (DBT_MANIFEST, partial parse on, debug
mode off, one DbtDag, the locked Cosmos, one Celery worker per queue), on generated
projects of the layered shape. Other records answer other questions and stay out of the
fit, so that a size is one configuration's, not an average of several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness.registry.names import DAG_RUN, MIN_WORKER, PARSE, POD_SIZE, TASK
from harness.store.record import Record

MIB = 1024 * 1024

# Axis -> the values that belong to the sizing configuration (None: the axis did not
# act or was left at a quiet default).
SIZING_CONFIG: dict[str, tuple[Any, ...]] = {
    "load_mode": ("DBT_MANIFEST",),
    "partial_parse": (True, None),
    "debug_mode": (False, None),
    "memory_optimised_imports": (False, None),
    "worker_limit_mib": (0, None),
    "task_groups": (0, None),
    "cosmos_version": ("locked", None),
    "test_behavior": ("after_each", None),
    "test_indirect_selection": ("eager", None),
    "celery_workers": (1, None),
    "watcher_reliable_retry": (True, None),
    "producer_threads": (0, None),
    "dbt_version": ("locked", None),
}


@dataclass(frozen=True)
class Observation:
    """One measured peak of a deployment."""

    models: int
    slots: int
    mib: float
    record: Record


@dataclass(frozen=True)
class Deployment:
    """Something a user gives memory to, and how records measure it."""

    name: str
    doc: str
    phases: tuple[str, ...]
    executor: str
    """local, celery, pod or dag_processor: what `harness size --executor` names."""
    role: str | None = None
    """The Celery worker's role in figures.workers (tasks, producer, sensors)."""
    slots_axis: str | None = None
    """The axis that counts the deployment's task slots (None: one task)."""
    modes: tuple[str, ...] = ("LOCAL", "WATCHER")
    """The execution modes it applies to."""
    holds_producer: bool = False
    """Under WATCHER it runs Cosmos's producer, whose peak grows with the models it builds:
    a run_nodes DAG run's producer builds the slice alone, so where only slices measured
    it, its answer is at least the producer's own task's (PRODUCER_TASK)."""

    def sliced_producer(self, mode: str, records: Iterable[Record]) -> bool:
        """Whether under ``mode`` this deployment runs WATCHER's producer and ``records``
        (its measurements at one size and slots; none counts) are all run_nodes slices:
        its answer is then at least the producer's own task's (PRODUCER_TASK)."""
        return self.holds_producer and mode == "WATCHER" and all(r.ax.run_nodes for r in records)

    def peaks(self, r: Record) -> list[float]:
        """The peaks (MiB) this deployment holds in record ``r``."""
        return _PEAK[self.executor](self, r)

    def slots_of(self, r: Record) -> int:
        """The task slots record ``r`` gave this deployment (1 where it has one task)."""
        return int(r.axes.get(self.slots_axis) or 1) if self.slots_axis else 1


def _tree_peak(d: Deployment, r: Record) -> list[float]:
    return [r.measure.peak_tree_bytes / MIB] if r.measure and r.measure.peak_tree_bytes else []


def _worker_peaks(d: Deployment, r: Record) -> list[float]:
    workers = r.figs.workers or []
    return [
        w["peak_tree_bytes"] / MIB
        for w in workers
        if isinstance(w, dict) and w.get("role") == d.role and w.get("peak_tree_bytes")
    ]


_PEAK: dict[str, Callable[[Deployment, Record], list[float]]] = {
    "local": _tree_peak,
    "celery": _worker_peaks,
    "pod": _tree_peak,
    "dag_processor": _tree_peak,
}

DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment("LocalExecutor worker", "the machine running the scheduler's LocalExecutor "
               "and its task processes, at `parallelism` = slots", (DAG_RUN,), "local",
               slots_axis="concurrency", holds_producer=True),
    Deployment("Celery worker", "one Celery worker at worker_concurrency = slots, "
               "running LOCAL model tasks", (DAG_RUN,), "celery", role="tasks",
               slots_axis="worker_concurrency", modes=("LOCAL",)),
    Deployment("WATCHER producer's worker", "the Celery worker of Cosmos's producer queue "
               "(the whole dbt build runs there)", (DAG_RUN,), "celery", role="producer",
               slots_axis="worker_concurrency", modes=("WATCHER",), holds_producer=True),
    Deployment("WATCHER sensors' worker", "the Celery worker running WATCHER's sensors at "
               "worker_concurrency = slots", (DAG_RUN,), "celery", role="sensors",
               slots_axis="worker_concurrency", modes=("WATCHER",)),
    Deployment("pod per task", "a KubernetesExecutor pod: one task process with its DAG "
               "re-import (`airflow tasks test`)", (TASK,), "pod"),
    Deployment("DAG processor", "the DAG processor's parse of the DAG file (load mode "
               "DBT_MANIFEST)", (PARSE,), "dag_processor"),
)  # fmt: skip

PRODUCER_TASK = "pod per task"
"""The deployment that measures WATCHER's producer building the whole project as one task
(`airflow tasks test` of the producer): the floor of a deployment that holds_producer."""

BISECTIONS = {"local": MIN_WORKER, "celery": MIN_WORKER, "pod": POD_SIZE}
"""The phase whose bisection measured a deployment's smallest limit directly."""


def named(name: str) -> Deployment:
    """The deployment of DEPLOYMENTS called ``name``."""
    return next(d for d in DEPLOYMENTS if d.name == name)


def in_sizing_config(r: Record) -> bool:
    """Whether ``r`` measured the sizing configuration on a generated layered project."""
    project = r.ax.project
    if not isinstance(project, dict) or project.get("shape") != "layered":
        return False
    return all(r.axes.get(axis) in allowed for axis, allowed in SIZING_CONFIG.items())


def models_of(r: Record) -> int:
    """The project size of a record in the sizing configuration (a generated project
    always has one: in_sizing_config keeps no other)."""
    if r.ax.models is None:
        raise ValueError(f"{r.scenario_id}: a record of a generated project without its size")
    return int(r.ax.models)


def executor_of(r: Record) -> str:
    """local or celery: the executor a dag_run or min_worker record ran."""
    return "celery" if r.ax.executor == "celery" else "local"


def measures(
    d: Deployment, r: Record, mode: str, invocation: str | None = None, config: bool = True
) -> bool:
    """Whether record ``r``, whatever its outcome, measured deployment ``d`` under ``mode``
    (and ``invocation`` where the record has one); ``config``: in the sizing
    configuration (a user's own project is not)."""
    if r.phase not in d.phases or (config and not in_sizing_config(r)):
        return False
    if mode not in d.modes or r.ax.execution_mode != mode:
        return False
    if r.phase == DAG_RUN and executor_of(r) != d.executor:
        return False
    if r.phase == TASK and r.ax.task_role not in ("root", "producer", None):
        return False
    record_invocation = r.ax.execution_invocation
    return invocation is None or record_invocation in (None, invocation)


def matches(d: Deployment, r: Record, mode: str, invocation: str | None = None) -> bool:
    """Whether record ``r`` is a successful measurement of ``d`` in the sizing
    configuration under ``mode`` (and ``invocation``)."""
    return r.status == "ok" and measures(d, r, mode, invocation)


def observations(
    d: Deployment, records: list[Record], mode: str, invocation: str | None = None
) -> list[Observation]:
    """Every peak of ``d`` measured in ``records`` under ``mode`` and ``invocation``."""
    out = []
    for r in records:
        if not matches(d, r, mode, invocation):
            continue
        models = models_of(r)
        out += [Observation(models, d.slots_of(r), mib, r) for mib in d.peaks(r)]
    return out


def deployments_for(executor: str, mode: str) -> list[Deployment]:
    """The deployments `harness size --executor EXECUTOR` answers under ``mode``."""
    return [d for d in DEPLOYMENTS if d.executor == executor and mode in d.modes]
