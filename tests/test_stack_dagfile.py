"""The DuckDB profile fields that let concurrent tasks share one warehouse file
(harness.stack.dagfile.DUCKDB_SHARED; docs/ARCHITECTURE.md, trap 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import duckdb
import pytest
import yaml
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments.local import LocalEnvironment

from harness.run.recipes.dag import tasks_share_warehouse
from harness.stack.dagfile import DUCKDB_RETRIES, DUCKDB_SHARED, DagSpec, profile_config_source
from harness.stack.projects import harness_profile

ROOT = Path(__file__).resolve().parents[1]
# A second process's attempt to open the file for writing: exit 0 when it could.
OPEN_ELSEWHERE = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"


def opens_elsewhere(path: Path) -> bool:
    """Whether another process can open the DuckDB file for writing now."""
    done = subprocess.run([sys.executable, "-c", OPEN_ELSEWHERE, str(path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 or "lock" in done.stderr.lower(), done.stderr
    return done.returncode == 0


def environment(path: Path, shared: dict[str, Any]) -> LocalEnvironment:
    creds = DuckDBCredentials.from_dict({"path": str(path), "database": path.stem, **shared})
    return LocalEnvironment(creds)


@pytest.mark.parametrize("keep_open", [True, False])
def test_keep_open_decides_whether_a_finished_task_holds_the_file(
    tmp_path: Path, keep_open: bool
) -> None:
    """Known truth: dbt-duckdb's connection, once dbt has released it, still holds the
    file's lock with keep_open on (its default), and lets it go with keep_open off."""
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    env = environment(path, {**DUCKDB_SHARED, "keep_open": keep_open})
    handle = env.handle()
    handle.cursor().execute("create table t as select 1 as x")
    assert not opens_elsewhere(path)  # while dbt holds a connection, nobody else writes
    handle.close()  # what dbt's release of the connection does
    assert opens_elsewhere(path) is (not keep_open)
    env.close()


def test_the_harness_profiles_carry_the_shared_fields_where_tasks_share_the_file(
    tmp_path: Path,
) -> None:
    """The DAG file's profile mapping closes the file after each node only where LOCAL
    tasks run at once; every profile retries the connect (the CLI's for the set-up
    build and plain dbt build too, whose thousands of nodes would each pay a checkpoint)."""
    assert DUCKDB_SHARED == {"retries": {"connect_attempts": 10}, "keep_open": False}
    assert DUCKDB_RETRIES == {"retries": {"connect_attempts": 10}}
    for shared, args in ((True, DUCKDB_SHARED), (False, DUCKDB_RETRIES)):
        spec = cast(DagSpec, SimpleNamespace(profiles_yml=None, profile_name="harness",
                                             tasks_share_warehouse=shared))  # fmt: skip
        assert f"profile_args={args!r}" in profile_config_source(spec)
    written = yaml.safe_load(harness_profile("harness", tmp_path).read_text())
    output = written["harness"]["outputs"]["dev"]
    assert output["retries"] == DUCKDB_RETRIES["retries"] and "keep_open" not in output


@pytest.mark.parametrize(
    ("eff", "shared"),
    [
        ({"concurrency": 4, "executor": "local", "execution_mode": "LOCAL"}, True),
        ({"concurrency": 1, "executor": "local", "execution_mode": "LOCAL"}, False),
        ({"concurrency": 4, "executor": "local", "execution_mode": "WATCHER"}, False),
        ({"concurrency": None, "execution_mode": "LOCAL"}, False),  # a task phase: one task
        ({"concurrency": 4, "executor": "celery", "worker_concurrency": 1,
          "celery_workers": 1, "execution_mode": "LOCAL"}, False),
        ({"concurrency": 4, "executor": "celery", "worker_concurrency": 1,
          "celery_workers": 2, "execution_mode": "LOCAL"}, True),
        ({"concurrency": 1, "executor": "celery", "worker_concurrency": 8,
          "celery_workers": 1, "execution_mode": "LOCAL"}, False),  # max_active_tasks 1
    ],
)
def test_tasks_share_the_warehouse_where_two_local_tasks_can_run_at_once(
    eff: dict[str, Any], shared: bool
) -> None:
    assert tasks_share_warehouse(eff) is shared


def test_the_docs_name_the_fields_as_set() -> None:
    """docs/ARCHITECTURE.md (trap 15) and docs/own-project.md give the values the
    profile sets."""
    attempts = DUCKDB_SHARED["retries"]["connect_attempts"]
    for doc in ("docs/ARCHITECTURE.md", "docs/own-project.md"):
        text = " ".join((ROOT / doc).read_text().split())
        assert f"retries: {{connect_attempts: {attempts}}}" in text, doc
        assert f"keep_open: {str(DUCKDB_SHARED['keep_open']).lower()}" in text, doc
