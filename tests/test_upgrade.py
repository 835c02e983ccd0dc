"""What an upgrade does (issue 29): the axes watcher_reliable_retry, producer_threads and
dbt_version, and cosmos_version on every phase. How each reaches the stack (env
derived from the declaration, the DAG file), where it acts, the refusal of a release
that cannot run, and the evidence a measurement keeps that the setting was in force.
The real-stack run is tests/test_upgrade_stack.py (slow)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UsageError
from harness.registry import AXES
from harness.registry.axes import effective
from harness.run.context import Context
from harness.run.runner import units_of
from harness.run.stacks import prepare_stacks
from harness.scenarios import expand, load_scenario_file
from harness.stack.celery import Worker, _worker_cmd
from harness.stack.dagfile import DagSpec, cosmos_seen, render_dag_file
from harness.stack.dbtlog import read_invocations
from harness.stack.services import api_server_cmd, triggerer_cmd
from harness.stack.workspace import BIN, Workspace, airflow_bin, dbt_bin
from harness.stack_env import axis_env

DEFAULTS = {name: axis.default for name, axis in AXES.items()}
RETRY_VAR = "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY"


def _load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_scenario_file(path)


# ---------------------------------------------------------------- the axes
def test_reliable_retry_reaches_env_only_under_watcher_in_the_phases_that_run_tasks() -> None:
    watcher = {**DEFAULTS, "execution_mode": "WATCHER", "watcher_reliable_retry": False}
    for phase in ("task", "dag_run", "min_worker", "pod_size"):
        assert axis_env(watcher, phase)[RETRY_VAR] == "False"
    assert RETRY_VAR not in axis_env(watcher, "dag_parse")
    assert RETRY_VAR not in axis_env({**watcher, "execution_mode": "LOCAL"}, "task")
    # Cosmos's default stays out of ids: old WATCHER ids still pair.
    assert effective({**watcher, "watcher_reliable_retry": True}, "task")[
        "watcher_reliable_retry"
    ] is None
    assert effective(watcher, "task")["watcher_reliable_retry"] is False


def test_debug_poll_reaches_env_from_its_declaration_with_debug_mode_only() -> None:
    var = AXES["debug_poll_s"].sets[0].name
    assert var == "AIRFLOW__COSMOS__DEBUG_MEMORY_POLL_INTERVAL_SECONDS"
    assert axis_env({**DEFAULTS, "debug_mode": True, "debug_poll_s": 0.1}, "task")[var] == "0.1"
    assert var not in axis_env({**DEFAULTS, "debug_poll_s": 0.1}, "task")


def test_producer_threads_act_only_under_watcher(tmp_path: Path) -> None:
    spec = _load(tmp_path, """
[[matrix]]
phases = ["task"]
models = 10
execution_mode = ["LOCAL", "WATCHER"]
producer_threads = [0, 8]
""")  # fmt: skip
    ids = sorted({m.scenario_id for m in expand(spec)})
    # LOCAL collapses both values into one scenario; WATCHER keeps 8 (0 is quiet).
    assert len(ids) == 3
    assert sum("producer_threads=8" in i for i in ids) == 1
    assert not any("producer_threads=0" in i for i in ids)


def test_the_dag_file_passes_the_producer_threads_and_prints_its_evidence() -> None:
    base = ("d", Path("/p"), "p", "p", "DBT_MANIFEST", "DBT_RUNNER", None, "WATCHER", True,
            True, False, 1)  # fmt: skip
    text = render_dag_file(DagSpec(*base, producer_threads=8))  # type: ignore[arg-type]
    assert "'dbt_cmd_flags': ['--threads', '8']" in text
    assert "harness-evidence" in text
    compile(text, "dag.py", "exec")
    plain = render_dag_file(DagSpec(*base))  # type: ignore[arg-type]
    assert "dbt_cmd_flags" not in plain and "harness-evidence" in plain


def test_the_evidence_line_is_read_back() -> None:
    log = (
        "noise\nharness-evidence: cosmos 1.14.2 at /e/cosmos-1.14.2/lib/cosmos/__init__.py; "
        "watcher_reliable_retry=None\nmore\n"
    )
    assert cosmos_seen(log) == {
        "version": "1.14.2",
        "path": "/e/cosmos-1.14.2/lib/cosmos/__init__.py",
        "watcher_reliable_retry": None,
    }
    assert cosmos_seen("no line") is None
    assert cosmos_seen("harness-evidence: cosmos 1.15.1 at /x; watcher_reliable_retry=False")[
        "watcher_reliable_retry"
    ] is False  # fmt: skip


def test_dbt_log_says_the_threads_it_ran_with() -> None:
    text = (
        "============================== 12:00:00.000 | 1b2c ==============================\n"
        "12:00:01.000 [info ] [MainThread]: Concurrency: 8 threads (target='dev')\n"
        "12:00:09.000 [debug] [MainThread]: Command `cli build` succeeded at 12:00:09\n"
    )
    (inv,) = read_invocations(text)
    assert inv.threads == [8]


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("axis", "value", "needles"),
    [
        ("dbt_version", "1.12.0", ("dbt-core-experimental-parser", "trap 1", "README.md")),
        ("dbt_version", "1.11.2", ("only the locked dbt-core",)),
        ("cosmos_version", "1.9.2", ("Airflow 3 support came in Cosmos 1.10.0",)),
    ],
)
def test_a_release_that_cannot_run_is_refused_at_load_with_one_line(
    tmp_path: Path, axis: str, value: str, needles: tuple[str, ...]
) -> None:
    with pytest.raises(UsageError) as err:
        _load(tmp_path, f'[[matrix]]\nphases = ["task"]\nmodels = 10\n{axis} = "{value}"\n')
    message = str(err.value)
    assert "\n" not in message and all(n in message for n in needles), message


def test_releases_that_run_are_accepted() -> None:
    for value in ("locked", "1.10.0", "1.14.2", "1.15.1"):
        assert AXES["cosmos_version"].check(value) is None
    assert AXES["dbt_version"].check("locked") is None


def _units(tmp_path: Path, text: str) -> list[Any]:
    return units_of(expand(_load(tmp_path, text)), 1)


def test_a_release_that_fails_to_build_is_invalid_before_anything_runs(tmp_path: Path) -> None:
    units = _units(tmp_path, """
[[matrix]]
phases = ["task", "dag_run"]
models = 10
cosmos_version = ["locked", "1.10.0", "1.14.2"]
execution_mode = ["LOCAL", "WATCHER"]
""")  # fmt: skip
    built: list[str] = []

    def build(version: str) -> str:
        built.append(version)
        if version == "1.14.2":
            raise RuntimeError("install failed: No solution found")
        return f"/envs/cosmos-{version}/bin/python"

    pythons, invalid = prepare_stacks(units, build)
    assert built == ["1.10.0", "1.14.2"]  # each once, the locked one never
    assert pythons == {"1.10.0": "/envs/cosmos-1.10.0/bin/python"}
    for u in units:
        version = u.measurement.scenario.axes["cosmos_version"]
        mode = u.measurement.scenario.axes["execution_mode"]
        why = invalid.get(u.scenario_id)
        if version == "1.14.2":
            assert why == "cosmos_version 1.14.2 cannot run here: install failed: No solution found"
        elif version == "1.10.0" and mode == "WATCHER":
            assert why is not None and "WATCHER does not exist in Cosmos 1.10.0" in why
        else:
            assert why is None, u.scenario_id


# ---------------------------------------------------------------- every process
def _fake_stack(root: Path) -> Path:
    bin_dir = root / "cosmos-1.14.2" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "airflow", "dbt"):
        exe = bin_dir / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_every_process_of_a_side_env_measurement_runs_its_stack(tmp_path: Path) -> None:
    bin_dir = _fake_stack(tmp_path)
    scenario = expand(_load(tmp_path, """
[[matrix]]
phases = ["dag_run"]
models = 10
execution_mode = "WATCHER"
cosmos_version = "1.14.2"
watcher_reliable_retry = false
""")).pop().scenario  # fmt: skip
    ws = Workspace(tmp_path / "ws")
    ctx = Context(ws, None, scenario, tmp_path / "log", 60, tmp_path / "venvs",
                  phase="dag_run", python=str(bin_dir / "python"))  # fmt: skip
    env = ctx.env(api_port=8080)
    assert env["PATH"].split(os.pathsep)[0] == str(bin_dir)
    assert env[RETRY_VAR] == "False"
    side_airflow = str(bin_dir / "airflow")
    assert airflow_bin(env) == side_airflow and dbt_bin(env) == str(bin_dir / "dbt")
    assert api_server_cmd(8080, env)[0] == side_airflow
    assert triggerer_cmd(env)[0] == side_airflow
    worker = Worker("producer", "cosmos_producer", 1, "producer")
    assert _worker_cmd(worker, tmp_path / "w.pid", env)[0] == side_airflow
    # The locked stack: the harness's own executables.
    locked = Context(ws, None, scenario, tmp_path / "log", 60, tmp_path / "venvs")
    assert airflow_bin(locked.env()) == str(BIN / "airflow") == airflow_bin()
