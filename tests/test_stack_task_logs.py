"""The failed tasks' own Airflow logs are kept, and their cause named (trap 15)."""

from __future__ import annotations

from pathlib import Path

from harness.stack.task_logs import cause, keep_failed

LOCK = ('IO Error: Could not set lock on file "/w/warehouse.duckdb": Conflicting lock is '
        "held in /x/python (PID 123)")  # fmt: skip


def _log(base: Path, task: str, attempt: int, text: str) -> Path:
    folder = base / "dag_id=d" / "run_id=manual__1" / f"task_id={task}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"attempt={attempt}.log"
    path.write_text(text)
    return path


def test_only_the_failed_tasks_logs_are_kept_with_their_cause(tmp_path: Path) -> None:
    base = tmp_path / "logs"
    _log(base, "stg_00005.run", 1, f"start\n{LOCK}\nTask failed\n")
    _log(base, "stg_00000.run", 1, "ok\n")
    dest = tmp_path / "m.services" / "tasks"
    kept = keep_failed(base, ["stg_00005.run"], dest)
    assert [p.name for p in kept] == ["stg_00005.run-attempt=1.log"]
    assert kept[0].read_text() == f"start\n{LOCK}\nTask failed\n"
    assert cause(kept) == LOCK.removeprefix("IO Error: ")
    # a log that names none of the known causes gives none; no task, no folder
    assert cause([_log(base, "t2", 1, "Task failed with exception\n")]) is None
    assert keep_failed(base, [], tmp_path / "none") == []
    assert not (tmp_path / "none").exists()
