"""The wall time a record stands for.

A dag_run whose `airflow dags test` hung after its DagRun finished is ended by
the harness's watchdog after a grace period; its measured wall time then holds
that grace. The record keeps both: ``figures.watchdog_end_s``, when the
watchdog ended the tree, and ``figures.dag_run_end_s``, when the DagRun itself
finished, both in seconds from the start of the command. Figures use the latter.
"""

from __future__ import annotations

from harness.store.record import Record


def wall_time_s(record: Record) -> float | None:
    """Seconds the measured work took: the DagRun's own end when the watchdog
    ended the command, else the measured wall time (None without a measurement)."""
    own = record.figs.dag_run_end_s
    if record.figs.watchdog_end_s is not None and isinstance(own, int | float):
        return float(own)
    return float(record.measure.wall_s) if record.measure else None
