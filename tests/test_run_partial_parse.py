"""The partial-parse states on the real stack at 10 models: dbt's own log shows its
msgpack used or refused as each state is designed to, and `changed` re-parses only
the edited file. Each test runs one recipe in its own workspace (a few parses);
Airflow's dagbag_import_timeout is raised so that a loaded machine does not cut a
parse short (the record keeps the limit in force)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from harness.registry import AXES
from harness.run.context import Context
from harness.run.recipes.parse import run_dag_parse
from harness.run.recipes.task import run_task
from harness.scenarios.model import ProjectSpec, Scenario
from harness.stack import projects
from harness.stack.projects import PreparedProject, prepare_project
from harness.stack.workspace import RunDir, make_template_home, new_workspace

pytestmark = pytest.mark.slow
SPEC = ProjectSpec(models=10, shape="layered")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunDir, PreparedProject]]:
    base = tmp_path_factory.mktemp("partial-parse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(projects, "SYNTHETIC_ROOT", base / "synthetic_projects")
        mp.setenv("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "600")
        run_dir = RunDir(base / "run")
        make_template_home(run_dir)
        project = prepare_project(SPEC, run_dir.work, run_dir.logs)
        yield run_dir, project


def _ctx(stack: tuple[RunDir, PreparedProject], phase: str, name: str, **axes: Any) -> Context:
    run_dir, project = stack
    values = tuple((n, axes.get(n, a.default)) for n, a in AXES.items())
    ws = new_workspace(run_dir, name)
    return Context(ws, project, Scenario(SPEC, values), run_dir.logs / f"{name}.log", 600.0,
                   run_dir.work / "venvs", phase=phase, role="root", task_sample=1)


def _parse(stack: tuple[RunDir, PreparedProject], state: str, **axes: Any) -> dict[str, Any]:
    axes = {"load_mode": "DBT_LS", "enable_mock_profile": False, **axes}
    outcome = run_dag_parse(_ctx(stack, "dag_parse", f"parse-{state}-{os.urandom(3).hex()}",
                                 partial_parse_state=state, **axes))
    assert outcome.status == "ok", outcome.reason
    assert outcome.figures["limits"]["dagbag_import_timeout"] == 600.0
    dbt: dict[str, Any] = outcome.figures["dbt"]
    assert dbt["commands"] == ["cli ls"]  # one dbt ls, by dbtRunner
    return dbt


def test_none_full_parse(stack: tuple[RunDir, PreparedProject]) -> None:
    dbt = _parse(stack, "none")
    assert dbt["partial_parse_used"] is False
    assert dbt["reason"] == "saved manifest not found"


def test_cache_dir_used(stack: tuple[RunDir, PreparedProject]) -> None:
    dbt = _parse(stack, "cache_dir")
    assert dbt["partial_parse_used"] is True and dbt["reparsed"] == []


def test_shipped_used(stack: tuple[RunDir, PreparedProject]) -> None:
    dbt = _parse(stack, "shipped")
    assert dbt["partial_parse_used"] is True and dbt["reparsed"] == []


def test_changed_reparses_only_the_edited_model(stack: tuple[RunDir, PreparedProject]) -> None:
    dbt = _parse(stack, "changed")
    assert dbt["partial_parse_used"] is True
    (edited,) = dbt["reparsed"]
    first = sorted((stack[1].path / "models").rglob("*.sql"))[0]
    assert edited.endswith(first.relative_to(stack[1].path).as_posix())


def test_mock_profile_msgpack_is_rejected_at_task_time(
    stack: tuple[RunDir, PreparedProject],
) -> None:
    """The worker's msgpack comes from a real-profile dbt ls, but the task's own DAG
    parse runs dbt ls with the mock profile and leaves its msgpack, newer, in the
    cache_dir: the task's dbt refuses it."""
    outcome = run_task(_ctx(stack, "task", "task-mock", load_mode="DBT_LS",
                            enable_mock_profile=True, partial_parse_state="cache_dir"))
    assert outcome.status == "ok", outcome.reason
    dbt = outcome.figures["dbt"]
    assert dbt["partial_parse_runs"][1] == 2  # the CLI's dbt ls, then the task's dbt run
    assert "profile has changed" in (dbt["reason"] or "")


def test_task_uses_the_workers_msgpack(stack: tuple[RunDir, PreparedProject]) -> None:
    outcome = run_task(_ctx(stack, "task", "task-cache-dir", load_mode="DBT_MANIFEST",
                            partial_parse_state="cache_dir"))
    assert outcome.status == "ok", outcome.reason
    dbt = outcome.figures["dbt"]
    assert dbt["partial_parse_used"] is True
    assert dbt["commands"] == ["cli run"]  # the task's one dbt, by dbtRunner


def test_the_dagbag_import_timeout_axis_is_the_limit_airflow_applies(
    stack: tuple[RunDir, PreparedProject],
) -> None:
    """The axis overrides the environment's limit, and the processor's timeout is
    raised with it (Airflow's own conf, read in the parsing process, says so)."""
    outcome = run_dag_parse(_ctx(stack, "dag_parse", f"parse-timeout-{os.urandom(3).hex()}",
                                 load_mode="DBT_MANIFEST", dagbag_import_timeout=75))
    assert outcome.status == "ok", outcome.reason
    assert outcome.figures["limits"] == {"dagbag_import_timeout": 75.0,
                                         "dag_file_processor_timeout": 95.0}
