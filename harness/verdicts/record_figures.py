"""The one place the report reads a record's phase figures (``Record.figures``).

The figures are the phase's own results beside the measurement (task states of a
DAG run, a bisection's probes, a soak's growth fit, Cosmos's debug figure, the log's
path). Reading them only here keeps the report independent of how the record stores
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.store.record import Record


def of(r: Record) -> Mapping[str, Any]:
    """Every figure of ``r`` by name (for the phases with many: soak)."""
    return r.figures.to_dict()


def get(r: Record, key: str, default: Any = None) -> Any:
    """One figure of ``r``, ``default`` when the phase did not write it."""
    return r.figures.get(key, default)


def number(value: Any) -> float | None:
    """A figure's value as a float; None for a missing or non-numeric one."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def numbers(values: Iterable[Any]) -> list[float]:
    """The numeric values (JSON may hold None or text where a figure was not read)."""
    return [n for v in values if (n := number(v)) is not None]


def log_path(r: Record) -> str:
    """The record's log file, relative to the run folder ("" when none was kept)."""
    return str(r.figures.get("log") or "")


def task_states(r: Record) -> dict[str, str]:
    """Task id -> its state in Airflow's metadata for the DAG run (dag_run records)."""
    tasks = r.figures.get("tasks")
    if not isinstance(tasks, dict):
        return {}
    return {
        str(task): str(info.get("state"))
        for task, info in tasks.items()
        if isinstance(info, dict) and info.get("state")
    }
