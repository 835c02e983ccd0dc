"""Readers of an Airflow metadata database (SQLite) after or during a measurement."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DAG_ID = "cosmos_harness_scenario"
"""The dag_id of every scenario's DAG file."""


def read_dag_run(db: Path) -> dict[str, Any]:
    """Task states and durations of the run, from the metadata database."""
    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "SELECT state, start_date, end_date, run_id FROM dag_run"
            " WHERE dag_id=? ORDER BY id DESC LIMIT 1",
            (DAG_ID,),
        ).fetchone()
        rows = conn.execute(
            "SELECT task_id, state, duration, start_date, end_date FROM task_instance"
            " WHERE dag_id=? AND run_id=? ORDER BY task_id",
            (DAG_ID, run[3] if run else None),
        ).fetchall()
    tasks = {r[0]: {"state": r[1], "duration_s": r[2]} for r in rows}
    return {
        "tasks_in_flight_max": most_at_once([(r[3], r[4]) for r in rows]),
        "deferred_tasks": deferred_tasks(db, run[3] if run else None),
        "dag_run_state": run[0] if run else None,
        "dag_run_s": _seconds_between(run[1], run[2]) if run else None,
        "tasks": tasks,
        "task_slot_seconds": sum((t["duration_s"] or 0.0) for t in tasks.values()),
    }


def most_at_once(spans: list[tuple[str | None, str | None]]) -> int:
    """The most task instances running at once, from their start and end times (a task
    without both is left out)."""
    events: list[tuple[datetime, int]] = []
    for start, end in spans:
        try:
            if start and end:
                events += [(_instant(start), 1), (_instant(end), -1)]
        except ValueError:
            continue
    most = now = 0
    for _, step in sorted(events):  # an end sorts before a start at the same instant
        now += step
        most = max(most, now)
    return most


def _instant(text: str) -> datetime:
    when = datetime.fromisoformat(str(text))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (
            datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))
        ).total_seconds()
    except ValueError:
        return None


def read_debug_xcom(db: Path) -> dict[str, Any]:
    """Cosmos debug mode's own peak figure per task (XCom cosmos_debug_max_memory_mb)."""
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT task_id, value FROM xcom WHERE key='cosmos_debug_max_memory_mb'"
            ).fetchall()
    except sqlite3.Error:
        return {}
    if not rows:
        return {}
    values = {}
    for task_id, raw in rows:
        try:
            values[task_id] = json.loads(raw if isinstance(raw, str) else raw.decode())
        except (ValueError, AttributeError):
            values[task_id] = str(raw)
    return {"cosmos_debug_max_memory_mb": values}


def _query_one(db: Path, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row: tuple[Any, ...] | None = conn.execute(sql, args).fetchone()
            return row
    except sqlite3.Error:
        return None


def newest_dag_run_id(db: Path) -> int:
    """Id of the newest run of the scenario DAG (0 when there is none)."""
    row = _query_one(db, "SELECT max(id) FROM dag_run WHERE dag_id=?", (DAG_ID,))
    return int(row[0]) if row and row[0] is not None else 0


def dag_run_state(db: Path, after_id: int = 0) -> str | None:
    """State of the newest run of the scenario DAG with an id above ``after_id``."""
    row = _query_one(
        db,
        "SELECT state FROM dag_run WHERE dag_id=? AND id>? ORDER BY id DESC LIMIT 1",
        (DAG_ID, after_id),
    )
    return row[0] if row else None


def dag_run_end(db: Path, dag_id: str = DAG_ID) -> datetime | None:
    """end_date of the newest run of ``dag_id`` (aware, UTC), if recorded."""
    row = _query_one(
        db, "SELECT end_date FROM dag_run WHERE dag_id=? ORDER BY id DESC LIMIT 1", (dag_id,)
    )
    if not row or not row[0]:
        return None
    try:
        end = datetime.fromisoformat(str(row[0]))
    except ValueError:
        return None
    return end if end.tzinfo else end.replace(tzinfo=UTC)


def watchdog_figures(
    db: Path, dag_id: str, started_epoch: float, wall_s: float
) -> dict[str, float]:
    """A DagRun ended by the watchdog keeps both ends (see harness.store.timing):
    ``watchdog_end_s``, the measured wall time up to the watchdog's end, and
    ``dag_run_end_s``, seconds from the command's start to its DagRun's end."""
    out = {"watchdog_end_s": round(wall_s, 3)}
    end = dag_run_end(db, dag_id)
    if end is not None:
        own = end.timestamp() - started_epoch
        if 0 < own <= wall_s:
            out["dag_run_end_s"] = round(own, 3)
    return out


def deferred_tasks(db: Path, run_id: str | None) -> list[str]:
    """Task ids of the run that went to state "deferred" (a deferrable sensor handed
    to the triggerer), from Airflow's audit log: its execution API logs every task
    state change there, while the task instance keeps no trace once it resumes."""
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT DISTINCT task_id FROM log WHERE dag_id=? AND run_id=?"
                " AND event='deferred' ORDER BY task_id",
                (DAG_ID, run_id),
            ).fetchall()
    except sqlite3.Error:
        return []
    return [r[0] for r in rows]
