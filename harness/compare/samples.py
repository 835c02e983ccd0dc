"""The measured values of each scenario of a run, grouped over its repetitions.

Three metrics, all "lower is better":
  memory - peak memory of the whole process tree (MeasureResult.peak_tree_bytes);
  time   - wall-clock seconds of the phase (MeasureResult.wall_s; for a dag_run
           ended by the watchdog, until its DagRun's end: store.timing);
  slots  - task-slot-seconds of a dag_run (figures.task_slot_seconds: the sum of
           the task durations, what the run costs in worker slots).
Only records with status "ok" give values; the others are counted by status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.registry.values import RECORD_KEYS, AxisValues
from harness.store.record import Record
from harness.store.timing import wall_time_s


def _memory(r: Record) -> float | None:
    return float(r.measure.peak_tree_bytes) if r.measure else None


def _time(r: Record) -> float | None:
    return wall_time_s(r)  # a watchdog's grace is not the DagRun's time


def _slots(r: Record) -> float | None:
    value = r.figs.task_slot_seconds
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class Metric:
    """One compared quantity of a record."""

    key: str
    label: str
    unit: str
    """"bytes" or "s"."""
    get: Callable[[Record], float | None]


METRICS: tuple[Metric, ...] = (
    Metric("memory", "peak memory", "bytes", _memory),
    Metric("time", "wall time", "s", _time),
    Metric("slots", "task-slot-seconds", "s", _slots),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}

# Record axes that describe the project or the sampled task rather than a Cosmos option.
PROJECT_KEYS = RECORD_KEYS


@dataclass
class ScenarioSamples:
    """All repetitions of one scenario of one run."""

    scenario_id: str
    phase: str
    axes: dict[str, Any]
    values: dict[str, list[float]] = field(default_factory=dict)
    """metric key -> one value per ok repetition (metrics a phase lacks are absent)."""
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)
    backends: set[str] = field(default_factory=set)
    methods: set[int] = field(default_factory=set)
    """The method versions of the phase's recipe that measured it (harness.compare.methods)."""
    records: list[Record] = field(default_factory=list)

    @property
    def n_ok(self) -> int:
        """Repetitions that gave values."""
        return self.statuses.get("ok", 0)

    @property
    def config(self) -> dict[str, Any]:
        """The Cosmos option values of the scenario (no project, no task role)."""
        return config_of(self.axes)

    @property
    def size(self) -> int | str | None:
        """The project size (number of models), or a user project's label; None for import."""
        return size_of(self.axes)

    @property
    def ax(self) -> AxisValues:
        """The scenario's axes as typed attributes (harness.registry.values)."""
        return AxisValues.of(self.axes)


def config_of(axes: dict[str, Any]) -> dict[str, Any]:
    """Axis values without the project and the sampled task role."""
    return {k: v for k, v in axes.items() if k not in PROJECT_KEYS}


def size_of(axes: dict[str, Any]) -> int | str | None:
    """Number of models of the scenario's project; a user project's path; None without project."""
    ax = AxisValues.of(axes)
    if ax.models is not None:
        return int(ax.models)
    project = ax.project
    if isinstance(project, dict) and project.get("path"):
        return str(project["path"])
    return None


def worker_peaks(
    s: ScenarioSamples, roles: Iterable[str] | None = None, total: bool = False
) -> list[float]:
    """The largest Celery worker's peak (bytes) of each ok repetition, among the workers
    of ``roles`` (figures.workers' role: tasks, producer, sensors; None: any); with
    ``total``, their peaks summed (the memory the run's workers were given together). A
    Celery dag_run's own peak is its scheduler loop's: its tasks ran in the workers'
    cgroups. Empty under the LocalExecutor, or when no worker of those roles was recorded."""
    wanted = None if roles is None else set(roles)
    out = []
    for r in s.records:
        workers = r.figs.workers if r.status == "ok" else None
        peaks = [
            w.get("peak_tree_bytes")
            for w in workers or []
            if isinstance(w, dict) and (wanted is None or w.get("role") in wanted)
        ]
        found = [float(p) for p in peaks if isinstance(p, int | float) and p > 0]
        if found:
            out.append(sum(found) if total else max(found))
    return out


def group_scenarios(records: Iterable[Record]) -> dict[str, ScenarioSamples]:
    """Scenario id -> its samples, in the order the run first recorded each scenario."""
    out: dict[str, ScenarioSamples] = {}
    for r in records:
        s = out.get(r.scenario_id)
        if s is None:
            s = out[r.scenario_id] = ScenarioSamples(r.scenario_id, r.phase, dict(r.axes))
        s.records.append(r)
        s.statuses[r.status] += 1
        s.methods.add(r.method_version)
        if r.measure is not None:
            s.backends.add(r.measure.backend)
        if r.status != "ok":
            if r.reason:
                s.reasons.append(r.reason)
            continue
        for metric in METRICS:
            value = metric.get(r)
            if value is not None:
                s.values.setdefault(metric.key, []).append(value)
    return out
