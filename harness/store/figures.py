"""The one reader of a record's figures: ``Record.figs``, one typed attribute a figure.

A record keeps its phase's figures (harness.registry.figures, one dataclass a phase),
but most readers go over records of several phases at once (dag_run and min_worker
records both have workers; parse and soak records both have tasks). Reading them by a
string name made a misspelt name a silent None; here every figure the registry declares
is an attribute, typed as declared (a name two phases declare with different types has
their union), None where the record's phase did not write it. A name the registry does
not declare is no attribute: mypy refuses it, and so does the class at run time (slots).
tests/test_store_figures.py keeps this list equal to the registry's declarations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.registry.figures import DbtEvidence, DebugFigure, Figures


@dataclass(frozen=True, slots=True)
class Figs:
    """Every figure the registry declares (documented there), as one record has it."""

    # Every phase (harness.registry.figures.Figures).
    dbt: DbtEvidence | None = None
    log: str | None = None
    harness_s: float | None = None
    setup_s: dict[str, float] | None = None
    setup_steps_s: dict[str, float] | None = None
    setup_reused: list[str] | None = None
    cosmos_env: dict[str, Any] | None = None
    cosmos_seen: dict[str, Any] | None = None
    # import.
    statement: str | None = None
    # dag_parse (tasks, parse_s, import_s: soak's and dag_run's too).
    tasks: int | dict[str, dict[str, Any]] | None = None
    """A count of tasks (dag_parse, soak), or task id -> its state and time (dag_run)."""
    parse_s: float | None = None
    import_s: float | None = None
    cache: str | None = None
    airflow_parse_s: float | None = None
    limits: dict[str, float] | None = None
    timeout_margin: dict[str, float] | None = None
    timeout_flag: str | None = None
    # task, pod_size.
    task_id: str | None = None
    role: str | None = None
    sample: dict[str, str] | None = None
    cosmos_debug_max_memory_mb: DebugFigure | None = None
    cosmos_debug_source: str | None = None
    # dag_run and the bisections (ExecutorFigures).
    selected_models: list[str] | None = None
    tasks_in_flight_max: int | None = None
    executor: str | None = None
    workers: list[dict[str, Any]] | None = None
    workers_peak_sum_bytes: int | None = None
    workers_peak_max_bytes: int | None = None
    services: dict[str, dict[str, Any]] | None = None
    celery_stack: dict[str, str | None] | None = None
    # dag_run.
    dag_run_state: str | None = None
    dag_run_s: float | None = None
    task_slot_seconds: float | None = None
    listening: list[str] | None = None
    deferred_tasks: list[str] | None = None
    ended_by_harness: str | None = None
    watchdog_end_s: float | None = None
    dag_run_end_s: float | None = None
    airflow_race_retried: bool | None = None
    # dbt_baseline (threads: soak's too).
    threads: int | list[int] | None = None
    """dbt build --threads (dbt_baseline), or the process's threads at the first and
    last task (soak)."""
    # soak.
    invocation: str | None = None
    partial_parse: bool | None = None
    tasks_planned: int | None = None
    models: int | None = None
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
    leak_flag: bool | None = None
    baseline_rss_mib: float | None = None
    first_task_rss_mib: float | None = None
    last_rss_mib: float | None = None
    task_s_median: float | None = None
    # min_worker, pod_size.
    min_limit_mib: int | None = None
    max_failing_limit_mib: int | None = None
    precision: float | None = None
    converged: bool | None = None
    unlimited_peak_mib: float | None = None
    repeated_probes: int | None = None
    probes: list[dict[str, Any]] | None = None

    @classmethod
    def of(cls, figures: Figures) -> Figs:
        """The figures of one record, whatever its phase: a figure its phase's type does
        not declare is read from ``extra`` (a record of an older or newer harness)."""
        return cls(**{name: figures.get(name) for name in NAMES})

    def task_states(self) -> dict[str, str]:
        """Task id -> its state in Airflow's metadata for the DAG run (dag_run records)."""
        if not isinstance(self.tasks, dict):
            return {}
        return {
            str(task): str(info.get("state"))
            for task, info in self.tasks.items()
            if isinstance(info, dict) and info.get("state")
        }


NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Figs))
"""Every figure the registry declares."""


def number(value: Any) -> float | None:
    """A figure's value as a float; None for a missing or non-numeric one."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def numbers(values: Iterable[Any]) -> list[float]:
    """The numeric values (JSON may hold None or text where a figure was not read)."""
    return [n for v in values if (n := number(v)) is not None]
