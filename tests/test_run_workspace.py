"""The environment of a measurement's Airflow processes (harness.run.workspace)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.run.workspace import TASK_TOKEN_S, airflow_env
from harness.scenarios import load_scenario_file

ROOT = Path(__file__).resolve().parents[1]
READ = (
    "from airflow.configuration import conf; "
    "print(conf.getint('execution_api', 'jwt_expiration_time'))"
)


def _token_life(env: dict[str, str]) -> int:
    out = subprocess.run(
        [sys.executable, "-c", READ], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


def test_task_tokens_outlive_every_shipped_run(tmp_path: Path) -> None:
    """Trap 22: a task that waits in the executor's queue longer than its token's life
    fails unrun. Airflow reads the harness's setting (not its 600 s default), and no
    shipped scenario file lets a run last longer than that."""
    (tmp_path / "tmp").mkdir()
    env = airflow_env(tmp_path / "home", tmp=tmp_path / "tmp")
    assert _token_life(env) == TASK_TOKEN_S
    default = {k: v for k, v in env.items() if k != "AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME"}
    assert _token_life(default) == 600
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        assert load_scenario_file(path).timeout_s < TASK_TOKEN_S, path.name
