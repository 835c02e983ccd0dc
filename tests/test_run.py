"""The scenario runner: unit tests of its pieces, bad input, and the smoke matrix
on the real stack (Airflow, Cosmos, dbt, DuckDB) with its hygiene checks."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from harness.cli import main
from harness.generate.graph import build_graph
from harness.registry.phases import model_task_roles
from harness.run.cli import parse_shard
from harness.run.estimate import estimate_s
from harness.run.recipes.task import sample_tasks
from harness.run.runner import iter_shard, schedule, units_of
from harness.scenarios import expand, load_scenario_file
from harness.stack.dagfile import DagSpec, render_dag_file
from harness.store.jsonl import read_records
from harness.store.record import Record
from harness.store.runinfo import read_run_info

ROOT = Path(__file__).resolve().parents[1]


def spec(**over: object) -> DagSpec:
    base: dict[str, object] = dict(
        dag_id="d", project_dir=Path("/p"), project_name="p", profile_name="p",
        load_mode="DBT_LS", render_invocation="SUBPROCESS", execution_invocation="DBT_RUNNER",
        execution_mode="LOCAL", partial_parse=False, enable_mock_profile=True,
        memory_optimised_imports=True, concurrency=3,
    )
    base.update(over)
    return DagSpec(**base)  # type: ignore[arg-type]


def test_dag_file_is_valid_python_with_the_options_and_discoverable() -> None:
    text = render_dag_file(spec())
    ast.parse(text)
    # Airflow's safe mode skips files without both words (docs/ARCHITECTURE.md trap 2).
    assert "airflow" in text and "dag" in text.lower()
    for needle in (
        "LoadMode.DBT_LS", "InvocationMode.SUBPROCESS", "partial_parse=False",
        "enable_mock_profile=True", "ExecutionMode.LOCAL", "max_active_tasks=3",
        "from cosmos.airflow.dag import DbtDag",
    ):
        assert needle in text


def test_dag_file_top_level_imports_and_manifest() -> None:
    text = render_dag_file(
        spec(memory_optimised_imports=False, load_mode="DBT_MANIFEST",
             manifest_path=Path("/m/manifest.json"))
    )
    assert "from cosmos import DbtDag" in text
    assert "manifest_path='/m/manifest.json'" in text
    # The render invocation is not passed where Cosmos runs no dbt ls.
    assert "invocation_mode=InvocationMode.SUBPROCESS" not in text


def test_sample_tasks_roots_middle_leaves() -> None:
    tasks = {
        "seed_a_seed": {"operator": "DbtSeedLocalOperator", "upstream": []},
        "a.run": {"operator": "DbtRunLocalOperator", "upstream": ["seed_a_seed"]},
        "a.test": {"operator": "DbtTestLocalOperator", "upstream": ["a.run"]},
        "b_run": {"operator": "DbtRunLocalOperator", "upstream": ["a.test", "a.run"]},
        "c_run": {"operator": "DbtRunLocalOperator", "upstream": ["b_run"]},
        "d_run": {"operator": "DbtRunLocalOperator", "upstream": ["c_run"]},
    }
    assert sample_tasks(tasks, "LOCAL", 3) == {"root": "a.run", "middle": "c_run", "leaf": "d_run"}
    assert sample_tasks(tasks, "LOCAL", 1) == {"root": "a.run"}
    tasks["dbt_producer_watcher"] = {"operator": "DbtProducerWatcherOperator", "upstream": []}
    assert sample_tasks(tasks, "WATCHER", 3) == {"producer": "dbt_producer_watcher"}
    assert model_task_roles({"execution_mode": "WATCHER"}, 3) == ["producer"]
    assert model_task_roles({"execution_mode": "LOCAL"}, 2) == ["root", "middle"]


def test_repetitions_of_compared_configurations_alternate_in_time(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        "repetitions = 3\n[[matrix]]\nphases = ['import', 'dag_parse']\nmodels = 10\n"
        "load_mode = ['DBT_LS', 'DBT_MANIFEST']\nmemory_optimised_imports = [true, false]\n"
    )
    units = units_of(expand(load_scenario_file(path)), 3)
    order = [(u.scenario_id, rep) for _, u, rep in schedule(units)]
    assert sorted(order) == sorted((u.scenario_id, r) for u in units for r in range(3))
    imports = [o for o in order if o[0].startswith("import/")]
    assert order[: len(imports)] == imports  # no project needed: they come first
    parses = order[len(imports) :]
    # Round robin: every configuration's repetition k before any repetition k + 1.
    assert [rep for _, rep in parses] == sorted(rep for _, rep in parses)
    assert len({sid for sid, _ in parses[:4]}) == 4


def test_shards_partition_the_units(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        "[[matrix]]\nphases=['import','dag_parse','task']\nmemory_optimised_imports=[true,false]\n"
    )
    units = units_of(expand(load_scenario_file(tmp_path / "s.toml")), 3)
    parts = [list(iter_shard(units, (k, 3))) for k in (1, 2, 3)]
    ids = [u.scenario_id for p in parts for u in p]
    assert sorted(ids) == sorted(u.scenario_id for u in units)
    assert len(set(ids)) == len(ids)


def test_shards_of_the_nightly_are_balanced_by_the_estimate() -> None:
    """The longest-first rule leaves no share longer than the shortest by more than one
    unit's cost; every N-th unit had put the 5000-model tasks on one machine."""
    spec = load_scenario_file(ROOT / "scenarios" / "nightly.toml")
    units = units_of(expand(spec), spec.task_sample)

    def cost(us: list) -> float:  # type: ignore[type-arg]
        return sum(estimate_s(u.measurement) * u.measurement.repetitions for u in us)

    shares = [cost(list(iter_shard(units, (k, 10)))) for k in range(1, 11)]
    largest = max(cost([u]) for u in units)
    assert max(shares) - min(shares) <= largest
    assert sum(shares) == pytest.approx(cost(units))


@pytest.mark.parametrize("text", ["3/2", "0/2", "a/b", "1-2", "2"])
def test_bad_shard(text: str) -> None:
    from harness.errors import UsageError

    with pytest.raises(UsageError):
        parse_shard(text)


@pytest.mark.parametrize(
    ("args", "toml", "needle"),
    [
        (["--shard", "3/2"], "[[matrix]]\nphases=['import']", "--shard"),
        ([], "[[matrix]]\nload_mode='FAST'", "load_mode"),
        ([], "[[matrix]\n", "malformed TOML"),
        ([], "[[matrix]]\nproject='not-here'", "not a dbt project"),
        ([], "[[matrix]]\nwarp=1", "unknown key 'warp'"),
        (["-k", "nothing-matches"], "[[matrix]]\nphases=['import']", "no measurement"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], toml: str, needle: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    results = tmp_path / "results"
    code = main(["run", str(path), "--results-dir", str(results), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert needle in err
    assert len(err.splitlines()) == 1
    assert not results.exists()


def test_missing_scenario_file_is_one_line_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(tmp_path / "none.toml")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_dry_run_lists_and_estimates(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(ROOT / "scenarios" / "smoke.toml"),
         "--dry-run", "--results-dir", str(tmp_path / "r")],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "300"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "estimated time" in proc.stderr
    assert "dag_run/layered-10-s0" in proc.stdout
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ real stack
def _snapshot(path: Path) -> set[str]:
    return {str(p) for p in path.rglob("*")} if path.exists() else set()


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run scenarios/smoke.toml once for real; the tests below read what it left."""
    base = tmp_path_factory.mktemp("smoke")
    home, tmp = base / "home", base / "tmp"
    home.mkdir()
    tmp.mkdir()
    # Every process the run starts inherits this mark; any still alive afterwards
    # is the run's leftover (other work on the machine does not count).
    mark = f"smoke-{os.getpid()}-{base.name}"
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp), "COLUMNS": "200",
           "HARNESS_TEST_MARK": mark}
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(ROOT / "scenarios" / "smoke.toml"),
         "--run-id", "smoke", "--results-dir", str(base / "results")],
        cwd=base, env=env, capture_output=True, text=True, timeout=1500,
    )
    (base / "harness-run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    leftover = []
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if p.environ().get("HARNESS_TEST_MARK") == mark and p.status() != "zombie":
                leftover.append(" ".join(p.info["cmdline"] or []))
        except psutil.Error:
            continue
    (base / "leftover.txt").write_text("\n".join(leftover))
    return base


@pytest.mark.slow
def test_smoke_every_status_ok_or_invalid_with_reason(smoke_run: Path) -> None:
    records = list(read_records(smoke_run / "results" / "smoke" / "results.jsonl"))
    expected = units_of(expand(load_scenario_file(ROOT / "scenarios" / "smoke.toml")), 1)
    assert {r.scenario_id for r in records} == {u.scenario_id for u in expected}
    for r in records:
        assert r.status in ("ok", "invalid"), (r.scenario_id, r.status, r.reason)
        if r.status == "invalid":
            assert r.reason and "Cosmos" in r.reason
        else:
            assert r.measure is not None
            assert r.measure.peak_tree_bytes > 0 and r.measure.wall_s > 0
    modes = {(r.axes.get("execution_mode"), r.axes.get("execution_invocation"))
             for r in records if r.status == "ok"}
    assert {m for m, _ in modes} >= {"LOCAL", "WATCHER", "VIRTUALENV"}
    assert {i for _, i in modes} >= {"DBT_RUNNER", "SUBPROCESS"}
    # WATCHER's task is its producer, the one that runs the build
    (watcher,) = [r for r in records if r.phase == "task"
                  and r.axes["execution_mode"] == "WATCHER"]  # fmt: skip
    assert watcher.figures.role == "producer" and "producer" in watcher.figures.task_id
    # VIRTUALENV with DBT_RUNNER is rejected by Cosmos itself.
    assert any(r.status == "invalid" and "VIRTUALENV" in (r.reason or "") for r in records)


@pytest.mark.slow
def test_smoke_task_without_debug_mode_has_no_cosmos_debug_figure(smoke_run: Path) -> None:
    """The debug-mode pair of the load test (tests/test_load.py) has this task, LOCAL with
    dbtRunner and debug mode off, as its other side: the same scenario, measured here."""
    records = list(read_records(smoke_run / "results" / "smoke" / "results.jsonl"))
    (off,) = [r for r in records if r.phase == "task" and r.axes["execution_mode"] == "LOCAL"
              and r.axes["execution_invocation"] == "DBT_RUNNER"]  # fmt: skip
    assert off.status == "ok", off.reason
    assert off.axes["debug_mode"] is False
    assert off.figures.get("cosmos_debug_max_memory_mb") is None


@pytest.mark.slow
def test_smoke_dag_run_counts_every_dbt_invocation_by_dbts_name(smoke_run: Path) -> None:
    """Its tasks ran two at a time and wrote one dbt.log: each task that runs dbt is
    one invocation, named by dbt ("cli build"), with one manifest load; Cosmos runs no
    dbt for an ephemeral model's task (known truth: the generated graph)."""
    (local,) = _smoke_dag_runs(smoke_run)
    assert local.status == "ok", local.reason
    assert local.axes["concurrency"] == 2
    ephemeral = {n.name for n in build_graph(10, "layered", 0).nodes
                 if n.materialized == "ephemeral"}
    assert ephemeral
    # Task ids start with the node's name: "stg_00001_model_build", "int_00003.run".
    expected = [t for t in local.figures.tasks
                if not t.startswith(tuple(f"{e}{s}" for e in ephemeral for s in "._"))]
    assert len(expected) < len(local.figures.tasks)
    dbt = local.figures.dbt
    assert dbt is not None
    assert len(dbt.commands) == len(expected), (dbt.commands, expected)
    assert all(c.startswith("cli ") for c in dbt.commands), dbt.commands
    assert dbt.partial_parse_runs is not None and dbt.partial_parse_runs[1] == len(expected)


def _smoke_dag_runs(smoke_run: Path) -> list[Record]:
    """The smoke run's LOCAL DAG runs."""
    records = read_records(smoke_run / "results" / "smoke" / "results.jsonl")
    return [r for r in records if r.phase == "dag_run" and r.axes["execution_mode"] == "LOCAL"]


@pytest.mark.slow
def test_smoke_servers_listen_on_loopback_only(smoke_run: Path) -> None:
    records = list(read_records(smoke_run / "results" / "smoke" / "results.jsonl"))
    seen = [a for r in records if r.phase == "dag_run" for a in r.figures.listening]
    assert seen, "the API server's socket was not seen"
    assert all(a.rsplit(":", 1)[0] in ("127.0.0.1", "::1") for a in seen), seen


@pytest.mark.slow
def test_smoke_run_json_says_how_and_where(smoke_run: Path) -> None:
    info = read_run_info(smoke_run / "results" / "smoke")
    assert info is not None and info.machine is not None
    assert info.state == "finished" and info.schema_version == 2
    assert info.backend in ("cgroup1", "cgroup2", "sample")
    assert (info.versions["astronomer-cosmos"] or "").startswith("1.15")
    assert (info.machine.cores_logical or 0) >= 1
    assert "[[matrix]]" in (info.scenario_text or "")
    assert (info.estimate_s or 0) > 0  # the dry-run's figure when the run began
    (speed,) = info.cpu_reference  # the machine's speed when it began
    assert 0 < speed.loop_cpu_s < 10 and speed.at >= (info.started_at or "")


@pytest.mark.slow
def test_smoke_records_each_shared_artefact_once_with_its_seconds(smoke_run: Path) -> None:
    """The manifest (DBT_MANIFEST) is made once, by the first measurement that needs it,
    and that record says how long it took. The tasks' built warehouse is the one the
    measured plain `dbt build` left (it ran first): no set-up build at all."""
    records = list(read_records(smoke_run / "results" / "smoke" / "results.jsonl"))
    made = [(r, name, s) for r in records for name, s in (r.figures.setup_s or {}).items()]
    names = [name for _, name, _ in made]
    assert "manifest" in names and "built" not in names
    assert len(names) == len(set(names))
    phases = [r.phase for r in records if r.phase in ("dbt_baseline", "task")]
    assert phases[0] == "dbt_baseline" and "task" in phases
    for r, _, seconds in made:
        assert r.figures.harness_s is not None
        assert 0 < seconds < r.figures.harness_s


@pytest.mark.slow
def test_smoke_records_each_measurements_own_set_up_steps(smoke_run: Path) -> None:
    """Every measured record says what its own set-up took (issue 32): the workspace
    always; a task its unmeasured DAG import, cache state and warehouse copy; the steps
    together less than all the harness spent on it."""
    records = [r for r in read_records(smoke_run / "results" / "smoke" / "results.jsonl")
               if r.status != "invalid"]  # fmt: skip
    assert records
    for r in records:
        steps = r.figs.setup_steps_s
        assert steps is not None and "workspace" in steps, r.scenario_id
        assert r.figs.harness_s is not None
        assert 0 <= sum(steps.values()) < r.figs.harness_s
    tasks = [r.figs.setup_steps_s or {} for r in records if r.phase == "task"]
    assert tasks and all({"dag_import", "cache", "warehouse"} <= set(s) for s in tasks)
    assert all(s["dag_import"] > 1.0 for s in tasks)  # an Airflow CLI parse, not a no-op


@pytest.mark.slow
def test_smoke_leaves_nothing_running_and_nothing_outside(smoke_run: Path) -> None:
    assert (smoke_run / "leftover.txt").read_text() == ""
    # HOME and TMPDIR of the run stay empty: every file went to results/ or
    # synthetic_projects/.
    assert _snapshot(smoke_run / "home") == set()
    assert _snapshot(smoke_run / "tmp") == set()
    outside = {p.name for p in smoke_run.iterdir()} - {
        "results", "synthetic_projects", "home", "tmp", "harness-run.log", "leftover.txt",
    }
    assert outside == set()
    assert not (smoke_run / "results" / "smoke" / "work").exists()


@pytest.mark.slow
def test_resume_skips_what_is_recorded(smoke_run: Path) -> None:
    results = smoke_run / "results" / "smoke" / "results.jsonl"
    before = results.read_text()
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", "smoke",
         "--results-dir", str(smoke_run / "results")],
        cwd=smoke_run, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert results.read_text() == before
    assert "nothing new" in proc.stderr


@pytest.mark.slow
def test_ctrl_c_leaves_a_valid_results_file_and_nothing_running(tmp_path: Path) -> None:
    """SIGINT to the run's process group, as Ctrl-C sends it, in the middle of a run."""
    import signal
    import time

    mark = f"ctrlc-{os.getpid()}"
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(ROOT / "scenarios" / "smoke.toml"),
         "--run-id", "c", "--results-dir", str(results), "-k", "import or dag_parse"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HARNESS_TEST_MARK": mark}, start_new_session=True,
    )
    jsonl = results / "c" / "results.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (jsonl.exists() and jsonl.read_text().strip()):
        time.sleep(0.5)
    time.sleep(3)  # into the next measurement
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "--resume c" in err
    records = list(read_records(jsonl))
    assert records and all(r.status in ("ok", "invalid") for r in records)
    assert getattr(read_run_info(results / "c"), "state", None) == "interrupted"
    assert not (results / "c" / "work").exists()
    time.sleep(1)
    alive = []
    for p in psutil.process_iter():
        try:
            if p.environ().get("HARNESS_TEST_MARK") == mark and p.status() != "zombie":
                alive.append(p.pid)
        except psutil.Error:
            continue
    assert alive == []
    cgroups = Path("/sys/fs/cgroup/memory")
    if cgroups.is_dir():
        assert not [d for d in cgroups.glob(f"harness-{proc.pid}-*")]


def test_cosmos_judges_only_the_options_a_phase_sets(tmp_path: Path) -> None:
    """VIRTUALENV with DBT_RUNNER is rejected by Cosmos, but a DAG parse does not set
    the execution invocation at all, so its VIRTUALENV parse is valid."""
    from harness.run.runner import validity
    from harness.stack.workspace import RunDir, make_template_home

    (tmp_path / "s.toml").write_text(
        "[[matrix]]\nphases=['dag_parse','task']\nload_mode='DBT_MANIFEST'\n"
        "execution_mode='VIRTUALENV'\nexecution_invocation=['DBT_RUNNER','SUBPROCESS']\n"
    )
    units = units_of(expand(load_scenario_file(tmp_path / "s.toml")), 1)
    run_dir = RunDir(tmp_path / "run")
    make_template_home(run_dir)
    invalid = validity(units, run_dir)
    assert list(invalid) == [
        u.scenario_id for u in units
        if u.phase == "task" and u.measurement.scenario.axes["execution_invocation"] == "DBT_RUNNER"
    ]
    assert "DBT_RUNNER has not been implemented for ExecutionMode.VIRTUALENV" in next(
        iter(invalid.values())
    )
    text = render_dag_file(spec(execution_mode="VIRTUALENV", execution_invocation=None))
    assert "ExecutionConfig(execution_mode=ExecutionMode.VIRTUALENV" in text
    assert "InvocationMode.DBT_RUNNER" not in text
