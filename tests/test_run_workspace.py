"""The environment of a measurement's Airflow processes (harness.stack.workspace)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from harness.scenarios import load_scenario_file
from harness.stack.workspace import (
    SHARED_TEMPLATE_ENV,
    TASK_TOKEN_S,
    RunDir,
    airflow_env,
    make_template_home,
)

ROOT = Path(__file__).resolve().parents[1]
# The token a queued task carries, made as the scheduler makes it (BaseExecutor's
# jwt_generator, ExecuteTask.make's generate_token), and the life of the tokens the
# execution API issues once the task runs: "<workload's life> <task's life>" in seconds.
READ = """
import jwt
from airflow.api_fastapi.auth.tokens import JWTGenerator, get_signing_args
from airflow.configuration import conf
from airflow.executors.workloads.base import BaseWorkloadSchema

life = conf.getint("execution_api", "jwt_expiration_time")
g = JWTGenerator(valid_for=life, audience="a", **get_signing_args(make_secret_key_if_needed=False))
c = jwt.decode(BaseWorkloadSchema.generate_token("ti", g), options={"verify_signature": False})
print(c["exp"] - c["iat"], life)
"""


def _token_life(env: dict[str, str]) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", READ], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    workload, task = out.stdout.strip().splitlines()[-1].split()
    return int(workload), int(task)


def test_task_tokens_outlive_every_shipped_run(tmp_path: Path) -> None:
    """Trap 22: a task that waits in the executor's queue longer than its token's life
    fails unrun. Airflow reads the harness's setting (not its 600 s default), and no
    shipped scenario file lets a run last longer than that."""
    (tmp_path / "tmp").mkdir()
    env = airflow_env(tmp_path / "home", tmp=tmp_path / "tmp")
    assert _token_life(env) == (TASK_TOKEN_S, TASK_TOKEN_S)
    # Airflow's defaults, 600 s each; the first fix set only the task's (a LOCAL Celery
    # run at one slot then lost 34 tasks after 13 minutes).
    default = {
        k: v
        for k, v in env.items()
        if k not in ("AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME",
                     "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT")
    }  # fmt: skip
    assert _token_life(default) == (600, 600)
    only_task = {k: v for k, v in env.items() if k != "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"}
    assert _token_life(only_task) == (600, TASK_TOKEN_S)
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        assert load_scenario_file(path).timeout_s < TASK_TOKEN_S, path.name


def test_runs_sharing_a_template_migrate_once_and_each_gets_its_own_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SHARED_TEMPLATE_ENV, the test session's one migration (tests/conftest.py): the first
    run migrates into the shared folder, every run copies it into its own template home
    with Airflow's config naming that home and nothing of the shared folder's; without
    the variable a run migrates its own, as a user's run does."""
    shared = Path(os.environ[SHARED_TEMPLATE_ENV])
    homes = [make_template_home(RunDir(tmp_path / f"run{n}")) for n in (1, 2)]
    template = shared / f"airflow-{version('apache-airflow-core')}"  # one per Airflow release
    assert (template / "airflow.db").is_file()
    migrated_at = (template / "airflow.db").stat().st_mtime_ns
    for home in homes:
        assert (home / "airflow.db").read_bytes() == (template / "airflow.db").read_bytes()
        cfg = (home / "airflow.cfg").read_text()
        assert f"dags_folder = {home / 'dags'}" in cfg and str(shared) not in cfg
        assert "copied from" in (home.parents[1] / "logs" / "airflow-db-migrate.log").read_text()
    make_template_home(RunDir(tmp_path / "run3"))
    assert (template / "airflow.db").stat().st_mtime_ns == migrated_at  # not migrated again
    monkeypatch.delenv(SHARED_TEMPLATE_ENV)
    own = make_template_home(RunDir(tmp_path / "own"))
    log = (own.parents[1] / "logs" / "airflow-db-migrate.log").read_text()
    assert "Database migration done" in log
    assert f"dags_folder = {own / 'dags'}" in (own / "airflow.cfg").read_text()
