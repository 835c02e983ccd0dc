"""When a DagRun itself finished, apart from when the harness ended its command.

See harness.store.timing: a record of a dag_run ended by the watchdog keeps both."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path


def dag_run_end(db: Path, dag_id: str) -> datetime | None:
    """end_date of the newest run of ``dag_id`` (aware, UTC), if recorded."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "SELECT end_date FROM dag_run WHERE dag_id=? ORDER BY id DESC LIMIT 1",
                (dag_id,),
            ).fetchone()
    except sqlite3.Error:
        return None
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
    """``watchdog_end_s``: the measured wall time, up to the watchdog's end;
    ``dag_run_end_s``: seconds from the command's start to its DagRun's end."""
    out = {"watchdog_end_s": round(wall_s, 3)}
    end = dag_run_end(db, dag_id)
    if end is not None:
        own = end.timestamp() - started_epoch
        if 0 < own <= wall_s:
            out["dag_run_end_s"] = round(own, 3)
    return out
