"""Another Cosmos release through the task and dag_run phases on the real stack (issue
29), at 10 models: the measured process itself says which Cosmos it imported (the DAG
file's evidence line, figures.cosmos_seen), and WATCHER's producer ran with the threads
asked (dbt's own log, figures.dbt.threads). Beside it, the locked Cosmos with
watcher_reliable_retry off: the setting as Cosmos read it in the measured process.
Slow: builds (or reuses) the side environment and runs four measurements."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.store.jsonl import read_records

ROOT = Path(__file__).resolve().parents[1]
OTHER = "1.14.2"
"""The newest 1.14 patch release: runs on the locked Airflow 3.3 with the lock's pins."""
SCENARIO = f"""
description = "upgrade: another Cosmos through a task and a DAG run"
repetitions = 1
timeout_s = 900
task_sample = 1

[defaults]
load_mode = "DBT_MANIFEST"
enable_mock_profile = false

[[matrix]]
name = "other-cosmos-task"
phases = ["task"]
models = 10
cosmos_version = "{OTHER}"
execution_mode = ["LOCAL", "WATCHER"]
producer_threads = 4

[[matrix]]
name = "other-cosmos-run"
phases = ["dag_run"]
models = 10
cosmos_version = "{OTHER}"
run_nodes = 2

[[matrix]]
name = "locked-no-reliable-retry"
phases = ["task"]
models = 10
execution_mode = "WATCHER"
watcher_reliable_retry = false
"""


@pytest.mark.slow
def test_another_cosmos_runs_in_every_measured_process(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(SCENARIO)
    (ROOT / ".harness-envs").mkdir(exist_ok=True)
    # The runner keeps side environments in ./.harness-envs: reuse the repo's.
    (tmp_path / ".harness-envs").symlink_to(ROOT / ".harness-envs")
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "s.toml", "--run-id", "upgrade",
         "--results-dir", str(tmp_path / "results")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = list(read_records(tmp_path / "results" / "upgrade" / "results.jsonl"))
    assert len(records) == 4
    for r in records:
        assert r.status == "ok", (r.scenario_id, r.reason)
        seen = r.figures.cosmos_seen
        assert seen is not None, r.scenario_id
        if r.axes.get("cosmos_version") == OTHER:
            # Imported inside the measured process, from the side environment.
            assert seen["version"] == OTHER, seen
            assert f"cosmos-{OTHER}" in seen["path"], seen
            assert r.figures.cosmos_env and r.figures.cosmos_env["version"] == OTHER
            assert seen["watcher_reliable_retry"] is None  # the setting came in 1.15
        else:
            assert seen["version"].startswith("1.15") and ".harness-envs" not in seen["path"]
            assert seen["watcher_reliable_retry"] is False
    producers = [r for r in records if r.axes.get("producer_threads") == 4]
    assert len(producers) == 1 and producers[0].figures.dbt is not None
    assert producers[0].figures.dbt.threads == [4]
