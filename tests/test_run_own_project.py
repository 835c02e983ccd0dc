"""A user's own project: copy, warehouse, profile, prepare, packages (harness.stack.own_project),
the test-behaviour options in the DAG file and sampling by the model graph."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml
from own_shop import PREPARE, SHOP, run_harness, tree_hashes, user_shop

from harness.errors import UsageError
from harness.run.recipes.task import sample_tasks
from harness.scenarios.scenario_file import parse_scenarios
from harness.stack.dagfile import DagSpec, render_dag_file
from harness.stack.own_project import PrepareError, duckdb_file, setup_own


def test_duckdb_paths_resolve_as_dbt_run_from_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "p"
    assert duckdb_file({"type": "duckdb", "path": "w/x.duckdb"}, project) == project / "w/x.duckdb"
    assert duckdb_file({"type": "duckdb", "path": "/abs/x.duckdb"}, project) == Path(
        "/abs/x.duckdb"
    )
    monkeypatch.setenv("SHOP_DB", "env.duckdb")
    spec = {"type": "duckdb", "path": "{{ env_var('SHOP_DB') }}"}
    assert duckdb_file(spec, project) == project / "env.duckdb"
    assert duckdb_file({"type": "duckdb", "path": ":memory:"}, project) is None
    assert duckdb_file({"type": "duckdb"}, project) is None
    assert duckdb_file({"type": "postgres", "path": "x"}, project) is None


def test_setup_copies_prepares_and_rewrites_the_profile_leaving_the_user_files_alone(
    tmp_path: Path,
) -> None:
    src = user_shop(tmp_path)
    before = tree_hashes(src)
    work, logs = tmp_path / "work", tmp_path / "logs"
    own = setup_own(src, "shop", True, PREPARE, work, logs, None)
    assert tree_hashes(src) == before
    assert own.root == work / "project" and (own.root / "dbt_project.yml").exists()
    assert own.warehouse == own.root / "warehouse" / "shop.duckdb"
    con = duckdb.connect(str(own.warehouse), read_only=True)
    # The user's own table came along; prepare loaded the sources into the copy.
    assert con.execute("select answer from user_owned").fetchone() == (42,)
    assert con.execute("select count(*) from raw.orders").fetchone() == (7,)
    con.close()
    assert own.target_name == "local"
    plain = yaml.safe_load((own.profiles[False] / "profiles.yml").read_text())
    retried = yaml.safe_load((own.profiles[True] / "profiles.yml").read_text())
    assert plain["shop"]["outputs"]["local"]["path"] == "{{ env_var('HARNESS_DUCKDB_PATH') }}"
    assert "retries" not in plain["shop"]["outputs"]["local"]
    assert "keep_open" not in plain["shop"]["outputs"]["local"]
    assert retried["shop"]["outputs"]["local"]["retries"] == {"connect_attempts": 10}
    assert retried["shop"]["outputs"]["local"]["keep_open"] is False
    assert own.notes["prepare"]["command"] == PREPARE
    assert "orders 7" in Path(own.notes["prepare"]["log"]).read_text()
    assert own.notes["packages"] == "none listed"


def test_a_failing_prepare_stops_with_one_line(tmp_path: Path) -> None:
    src = user_shop(tmp_path)
    with pytest.raises(PrepareError) as exc:
        setup_own(src, "shop", False, "python -c 'raise SystemExit(\"no data\")'",
                  tmp_path / "w", tmp_path / "logs", None)  # fmt: skip
    message = str(exc.value)
    assert "\n" not in message and "failed (exit 1)" in message and "no data" in message


def test_no_profile_for_profile_project_is_one_line(tmp_path: Path) -> None:
    src = user_shop(tmp_path)
    (src / "profiles.yml").unlink()
    with pytest.raises(PrepareError, match=r"no profiles\.yml"):
        setup_own(src, "shop", True, None, tmp_path / "w", tmp_path / "logs", None)


def test_vendored_packages_are_used_and_missing_ones_are_one_line(tmp_path: Path) -> None:
    own = setup_own(user_shop(tmp_path / "v", vendored=True), "shop", True, None,
                    tmp_path / "w1", tmp_path / "logs", None)  # fmt: skip
    assert own.notes["packages"] == "vendored (dbt_packages/)"
    with pytest.raises(PrepareError, match=r"dbt_packages/ is missing and `dbt deps` failed"):
        setup_own(user_shop(tmp_path / "m", missing=True), "shop", True, None,
                  tmp_path / "w2", tmp_path / "logs", None)  # fmt: skip


def test_prepare_project_and_profile_in_defaults(tmp_path: Path) -> None:
    data = {
        "defaults": {"project": str(SHOP), "profile": "project", "prepare": PREPARE},
        "matrix": [{"name": "own"}, {"name": "synthetic", "models": 10}],
    }
    spec = parse_scenarios(data, tmp_path / "s.toml")
    own, synthetic = spec.matrices
    assert own.projects[0].path == str(SHOP) and own.projects[0].prepare == PREPARE
    assert own.projects[0].profile == "project"
    assert synthetic.projects[0].path is None and synthetic.projects[0].prepare is None
    with pytest.raises(UsageError, match="prepare: needs project"):
        parse_scenarios({"matrix": [{"prepare": "x"}]}, tmp_path / "s.toml")


def test_dag_file_sets_deps_consistently_and_test_behaviour() -> None:
    options = {"test_behavior": "after_all", "test_indirect_selection": "cautious"}
    spec = DagSpec(
        "d", Path("/p"), "p", "p", "DBT_LS", "DBT_RUNNER", None, "LOCAL", True, True, False, 1,
        **options,
    )  # fmt: skip
    text = render_dag_file(spec)
    # Cosmos requires RenderConfig.dbt_deps == install_deps: both follow install_dbt_deps.
    assert "install_dbt_deps=False" in text and "install_deps" not in text.replace(
        "install_dbt_deps", ""
    )
    assert "test_behavior=TestBehavior.AFTER_ALL" in text
    assert "test_indirect_selection=TestIndirectSelection.CAUTIOUS" in text
    compile(text, "dag.py", "exec")


def _node(uid: str, deps: list[str], op: str = "DbtRunLocalOperator") -> dict[str, object]:
    deps_ids = [f"model.s.{d}" for d in deps]
    return {"operator": op, "upstream": [], "resource_type": "model",
            "unique_id": f"model.s.{uid}", "depends_on": deps_ids}  # fmt: skip


def test_sampling_follows_the_model_graph_not_names() -> None:
    # A mart named "a_mart" sorts first by name; a test task sits between run tasks.
    tasks = {
        "a_mart.run": _node("a_mart", ["m_int"]),
        "m_int.run": _node("m_int", ["z_stg"]),
        "m_int.test": _node("m_int", [], "DbtTestLocalOperator"),
        "z_stg.run": _node("z_stg", []),
        "seed_x": {
            "operator": "DbtSeedLocalOperator",
            "upstream": [],
            "resource_type": "seed",
            "unique_id": "seed.s.x",
            "depends_on": [],
        },
    }
    assert sample_tasks(tasks, "LOCAL", 3) == {
        "root": "z_stg.run", "middle": "m_int.run", "leaf": "a_mart.run"
    }  # fmt: skip


SCENARIO = """
timeout_s = 900
bisect_steps = 1
# the root model only: the sampling by the model graph (middle, leaf) is the unit
# test's above; the suite's time
task_sample = 1

[defaults]
project = "{project}"
prepare = "{prepare}"
test_indirect_selection = "cautious"
soak_tasks = 3
concurrency = 2

[[matrix]]
name = "own-profile"
profile = "project"
# every phase but the bisections (min_worker, pod_size), which run in a module of their
# own (tests/test_run_own_project_sizing.py) so that the suite's two workers share them
phases = ["import", "dag_parse", "task", "dag_run", "dbt_baseline", "soak"]

[[matrix]]
name = "harness-profile"
profile = "harness"
# the harness's profile mapping, started from the prepared warehouse, through every
# phase that runs dbt against it (the import does not read a project)
phases = ["dag_parse", "task", "dag_run", "dbt_baseline", "soak"]
"""


@pytest.mark.slow
def test_every_phase_with_both_profile_modes_leaves_the_user_files_unchanged(
    tmp_path: Path,
) -> None:
    shop = user_shop(tmp_path)
    before = tree_hashes(shop.parent)
    run, records = run_harness(tmp_path, SCENARIO.format(project=shop, prepare=PREPARE))
    bad = [(r.scenario_id, r.reason) for r in records if r.status != "ok"]
    assert bad == []
    for profile in ("project", "harness"):
        # the import reads no project: its record has none
        phases = {r.phase for r in records
                  if (r.axes.get("project") or {}).get("profile") == profile}  # fmt: skip
        assert phases == {"dag_parse", "task", "dag_run", "soak", "dbt_baseline"}, profile
    roles = {r.figures.get("task_id") for r in records if r.phase == "task"}
    assert roles == {"stg_customers.run"}  # the root by the model graph
    info = json.loads((run / "run.json").read_text())
    assert len(info["projects"]) == 2
    assert tree_hashes(shop.parent) == before
