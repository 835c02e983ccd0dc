"""`harness advise`: the budget, the plan, bad input, and (slow) a whole advice on the
fixture project with both profile modes, leaving the user's files unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.advise.plan import Target, base_matrices, fit, parse_budget, scenario_file
from harness.errors import UsageError
from tests.test_run_own_project import PREPARE, SHOP, tree_hashes, user_shop


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
