"""The Airflow task logs of a DAG run's failed tasks, kept beside the measurement's log.

A measurement's AIRFLOW_HOME goes with its workspace when the measurement ends, and
with it the only place that says why a task failed (dbt's error, DuckDB's "Could not
set lock on file" after its connect retries: trap 15). So the logs of the tasks that
did not succeed are copied out first, and the first line that names the cause goes into
the record's reason.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

CAUSE = re.compile(
    r"(Could not set lock on file[^\n]{0,160}|Runtime Error[^\n]{0,160}"
    r"|Database Error[^\n]{0,160}|MemoryError[^\n]{0,80}|\bKilled\b[^\n]{0,80})"
)
"""What a failed task's log says its cause was, most specific first in the log."""


def keep_failed(base_log_folder: Path, tasks: Iterable[str], dest: Path) -> list[Path]:
    """Copy every attempt's log of ``tasks`` (Airflow's task ids) from the run's
    ``base_log_folder`` into ``dest``; the copies, in order."""
    kept = []
    for task in sorted(tasks):
        for log in sorted(base_log_folder.glob(f"dag_id=*/run_id=*/task_id={task}/**/*.log")):
            dest.mkdir(parents=True, exist_ok=True)
            target = dest / f"{task}-{log.name}"
            shutil.copy2(log, target)
            kept.append(target)
    return kept


def cause(logs: Iterable[Path]) -> str | None:
    """The first cause named in ``logs`` (None: none of the known kinds)."""
    for log in logs:
        found = CAUSE.search(log.read_text(errors="replace"))
        if found:
            return found.group(1).strip()
    return None
