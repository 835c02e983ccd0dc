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

from harness.stack.dagfile import DUCKDB_SHARED, DagSpec, profile_config_source
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


def test_the_harness_profiles_carry_the_shared_fields(tmp_path: Path) -> None:
    """The DAG file's profile mapping and the harness's profiles.yml both set them."""
    assert DUCKDB_SHARED == {"retries": {"connect_attempts": 10}, "keep_open": False}
    spec = cast(DagSpec, SimpleNamespace(profiles_yml=None, profile_name="harness"))
    assert f"profile_args={DUCKDB_SHARED!r}" in profile_config_source(spec)
    written = yaml.safe_load(harness_profile("harness", tmp_path).read_text())
    output = written["harness"]["outputs"]["dev"]
    assert {k: output[k] for k in DUCKDB_SHARED} == DUCKDB_SHARED


def test_the_docs_name_the_fields_as_set() -> None:
    """docs/ARCHITECTURE.md (trap 15) and docs/own-project.md give the values the
    profile sets."""
    attempts = DUCKDB_SHARED["retries"]["connect_attempts"]
    for doc in ("docs/ARCHITECTURE.md", "docs/own-project.md"):
        text = " ".join((ROOT / doc).read_text().split())
        assert f"retries: {{connect_attempts: {attempts}}}" in text, doc
        assert f"keep_open: {str(DUCKDB_SHARED['keep_open']).lower()}" in text, doc
