"""`harness advise`: the budget, the plan, bad input, and (slow) a whole advice on the
fixture project with both profile modes, leaving the user's files unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from own_shop import PREPARE, SHOP, tree_hashes, user_shop

from harness.advise.plan import (
    Target,
    Worker,
    base_matrices,
    count_models,
    fit,
    parse_budget,
    scenario_file,
)
from harness.advise.sizing import baseline_records, worker_sizes
from harness.errors import UsageError
from harness.scenarios.scenario_file import ScenarioFile
from harness.store.jsonl import read_records

BASELINES = Path(__file__).resolve().parents[1] / "results" / "baselines"


def test_budgets_read_as_durations() -> None:
    assert parse_budget("30m") == 1800
    assert parse_budget("1h30m") == 5400
    assert parse_budget("90s") == 90
    assert parse_budget("2") == 120
    with pytest.raises(UsageError, match="--budget"):
        parse_budget("soon")


def test_the_plan_fits_the_budget_and_says_what_it_left_out(tmp_path: Path) -> None:
    spec = scenario_file(Target(SHOP, "harness", None), base_matrices(), tmp_path / "s.toml")
    small = fit(spec, 80)
    assert small.estimate_s <= 80
    assert [u.phase for u in small.units] == ["dag_parse"] * len(small.units)
    assert small.left_out and {u.phase for u in small.left_out} >= {"task", "dag_run"}
    big = fit(spec, 10 * 3600)
    assert not big.left_out and len(big.units) == 3 + 4 + 6
    with pytest.raises(UsageError, match="too small"):
        fit(spec, 30)


def _advise(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "advise", *args],
        capture_output=True, text=True, timeout=3000, cwd=cwd,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}"], "is not a dbt project"),
        (["{shop}", "--budget", "10s"], "too small"),
        (["{shop}", "--budget", "soon"], "--budget"),
        (["{bare}", "--profile", "project"], "no profiles.yml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    shop = user_shop(tmp_path)
    bare = user_shop(tmp_path / "bare")
    (bare / "profiles.yml").unlink()
    values = {"tmp": str(tmp_path), "shop": str(shop), "bare": str(bare)}
    proc = _advise(*(a.format(**values) for a in args), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [["--budget", "0"], ["--budget", "10s"], ["--budget", "0", "--executor", "celery"],
     ["--run-id", "../x"]],
)  # fmt: skip
def test_a_refusal_leaves_the_results_folder_as_it_was(tmp_path: Path, args: list[str]) -> None:
    """Issue 31: the budget, the plan and the run id are checked before the run folder
    and its lock are made; a results folder that did not exist is not made either."""
    shop = user_shop(tmp_path)
    results = tmp_path / "results"
    (results / "earlier").mkdir(parents=True)
    (results / "earlier" / "results.jsonl").write_text("")
    before = sorted(tmp_path.rglob("*"))
    for where in (results, tmp_path / "new-results"):
        proc = _advise(str(shop), "--profile", "harness", "--results-dir", str(where), *args,
                       cwd=tmp_path)  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_advise_on_the_fixture_with_a_small_budget(tmp_path: Path) -> None:
    # The project's own profile, the harder of the two modes (a copy of its warehouse and
    # its profile rewritten); the harness's profile is run by test_run_own_project.
    profile = "project"
    shop = user_shop(tmp_path)
    before = tree_hashes(shop.parent)
    results = str(tmp_path / "results")
    args = ["--budget", "90s", "--profile", profile, "--prepare", PREPARE]
    proc = _advise(str(shop), *args, "--results-dir", results, "--run-id", "a", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = tmp_path / "results" / "a"
    answer = json.loads((run / "answer.json").read_text())
    assert answer["parses"] and all(p["status"] == "ok" for p in answer["parses"])
    assert answer["best_parse"]["peak_mib"] > 50  # Airflow and Cosmos alone take more
    assert any("dag_run" in s for s in answer["unmeasured"])
    md = (run / "answer.md").read_text()
    assert "dagbag_import_timeout 30 s" in md and "Left unmeasured" in md
    assert (run / "report.md").exists()
    info = json.loads((run / "run.json").read_text())
    assert next(iter(info["projects"].values()))["prepare"]["command"] == PREPARE
    assert tree_hashes(shop.parent) == before
    assert not (run / "work").exists()


def _celery_spec(shop: Path, where: Path, prepare: str | None = None) -> ScenarioFile:
    """The plan `harness advise --executor celery --worker-concurrency 2` makes for ``shop``."""
    worker = Worker("celery", 2, count_models(shop))
    return scenario_file(Target(shop, "harness", prepare), base_matrices(worker), where)


def _budget_for_local_run(shop: Path, tmp_path: Path, prepare: str | None = None) -> int:
    """The smallest whole-second budget whose plan keeps the Celery LOCAL DAG run: priced,
    as advise prices it, from the committed records, which each new run moves, so a fixed
    budget would stop meaning "LOCAL's run and not WATCHER's"."""
    spec = _celery_spec(shop, tmp_path / "budget.toml", prepare)

    def keeps_local(budget: int) -> bool:
        units = fit(spec, budget).units
        return any(u.phase == "dag_run" and u.measurement.scenario.axes["execution_mode"]
                   == "LOCAL" for u in units)  # fmt: skip

    low, high = 1, 24 * 3600
    while low < high:  # a larger budget keeps what a smaller one kept (units in plan order)
        mid = (low + high) // 2
        low, high = (mid + 1, high) if not keeps_local(mid) else (low, mid)
    return low


def test_the_worker_asked_for_is_planned_before_the_tasks(tmp_path: Path) -> None:
    """--executor celery --worker-concurrency 2 on the 9-model fixture: a run of 4 of its
    models (2 x slots, since it has more than 4 x slots) on a Celery worker at 2 slots,
    right after the parses; a budget that just fits LOCAL's run leaves WATCHER's."""
    assert count_models(SHOP) == 9  # models/**/*.sql of the fixture
    plan = fit(_celery_spec(SHOP, tmp_path / "s.toml"), _budget_for_local_run(SHOP, tmp_path))
    runs = [u for u in plan.units if u.phase == "dag_run"]
    assert [u.phase for u in plan.units][:3] == ["dag_parse"] * 3
    assert [u.measurement.scenario.axes["execution_mode"] for u in runs] == ["LOCAL"]
    axes = runs[0].measurement.scenario.axes
    assert (axes["executor"], axes["worker_concurrency"], axes["run_nodes"]) == ("celery", 2, 4)
    assert any(u.phase == "dag_run" for u in plan.left_out)
    assert Worker("local", 4, 16).run_nodes == 0  # a project of 4 x slots runs whole


def test_worker_sizes_are_measured_where_the_run_measured_them() -> None:
    """The Celery LOCAL worker at 2 slots, 100 models, measured at 713 MiB (workers-20261202d)
    is given 713 x 1.1 rounded up to 16 MiB; WATCHER's workers, not in that run, come from
    the sizing model and say so."""
    model = baseline_records(BASELINES)
    run = list(read_records(BASELINES / "workers-20261202d" / "results.jsonl"))
    sizes = {(s.deployment, s.mode): s for s in worker_sizes(run, "celery", 2, 100, model)}
    local = sizes[("Celery worker", "LOCAL")]
    assert local.basis == "measured on your project" and local.give_mib == 800
    assert [round(m) for m in local.measured_mib] == [713]
    producer = sizes[("WATCHER producer's worker", "WATCHER")]
    assert producer.basis.startswith("from the sizing model at 100 models")
    assert producer.prediction is not None and producer.give_mib is not None
    assert producer.give_mib >= producer.prediction.mib * 1.1


def test_a_producer_measured_on_a_slice_is_given_its_own_task() -> None:
    """A user's run of 1000 models whose WATCHER DAG run was a run_nodes slice (producer's
    worker 589-594 MiB at 2 slots, sizing-20261207) and whose producer task built the whole
    project (759.5 MiB, bench-20261201b): the producer's worker is given the task's peak
    plus the margin, and the answer says why."""
    model = baseline_records(BASELINES)
    run = list(read_records(BASELINES / "sizing-20261207" / "results.jsonl"))
    run += [r for r in read_records(BASELINES / "bench-20261201b" / "results.jsonl")
            if r.phase == "task" and r.ax.models == 1000]  # fmt: skip
    run = [r for r in run if r.ax.models == 1000]
    sizes = {(s.deployment, s.mode): s for s in worker_sizes(run, "celery", 2, 1000, model)}
    producer = sizes[("WATCHER producer's worker", "WATCHER")]
    assert max(producer.measured_mib) < 600
    assert producer.give_mib == 848 and "at least WATCHER's producer's own task" in producer.basis
    sensors = sizes[("WATCHER sensors' worker", "WATCHER")]
    assert sensors.basis == "measured on your project"
    # Without the producer task, the slice's figure is given and called a lower bound.
    sliced = [r for r in run if r.phase != "task"]
    alone = {s.deployment: s for s in worker_sizes(sliced, "celery", 2, 1000, model)}
    assert alone["WATCHER producer's worker"].give_mib == 656  # 594.5 x 1.1, up to 16 MiB
    assert "a lower bound" in alone["WATCHER producer's worker"].basis


@pytest.mark.slow
def test_advise_sizes_a_celery_worker_on_the_fixture(tmp_path: Path) -> None:
    shop = user_shop(tmp_path)
    results = str(tmp_path / "results")
    budget = f"{_budget_for_local_run(shop, tmp_path, PREPARE)}s"  # LOCAL's run, not WATCHER's
    args = ["--budget", budget, "--profile", "harness", "--prepare", PREPARE,
            "--executor", "celery", "--worker-concurrency", "2"]  # fmt: skip
    proc = _advise(str(shop), *args, "--results-dir", results, "--run-id", "c", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads((tmp_path / "results" / "c" / "answer.json").read_text())
    by_name = {(w["deployment"], w["mode"]): w for w in answer["worker"]}
    local = by_name[("Celery worker", "LOCAL")]
    assert local["basis"] == "measured on your project", answer["dag_runs"]
    assert local["give_mib"] >= 1.1 * max(local["measured_mib"])
    assert by_name[("WATCHER producer's worker", "WATCHER")]["basis"].startswith("from the")
    assert "## Worker size: a Celery worker at worker_concurrency 2 (9 models)" in proc.stdout
