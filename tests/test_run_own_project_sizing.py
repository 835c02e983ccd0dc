"""The bisections on a user's own project: the smallest worker (min_worker, a whole DAG
run) and the pod size of one task, on the tests' fixture project, each with one of the
two profile modes (tests/test_run_own_project.py runs every other phase with both). A
module of its own so that the suite's two workers run the two modules at once. The
suite's one real pod_size: its task is the root by the model graph, its probes are said
as they end and its probe log goes once the record is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bisection import assert_bracketed
from own_shop import PREPARE, run_harness, tree_hashes, user_shop

# One halving each (three runs: without a limit, under 1.1 x its peak, under half of
# that): enough to see the limit act on the copy of the user's project; the bisection's
# convergence is tested on synthetic projects (tests/test_load.py). TestBehavior.BUILD
# halves the whole run's tasks; cautious indirect selection keeps a model's
# relationships tests out of its build until both models exist.
SCENARIO = """
timeout_s = 900
bisect_steps = 1
task_sample = 1

[defaults]
project = "{project}"
prepare = "{prepare}"
test_behavior = "build"
test_indirect_selection = "cautious"
concurrency = 2

[[matrix]]
name = "own-profile"
profile = "project"
phases = ["min_worker"]

[[matrix]]
name = "harness-profile"
profile = "harness"
phases = ["pod_size"]
"""


@pytest.mark.slow
def test_smallest_worker_and_pod_size_on_a_users_project(tmp_path: Path) -> None:
    shop = user_shop(tmp_path)
    before = tree_hashes(shop.parent)
    run, records = run_harness(tmp_path, SCENARIO.format(project=shop, prepare=PREPARE))
    assert [(r.scenario_id, r.reason) for r in records if r.status != "ok"] == []
    seen = {(r.phase, (r.axes.get("project") or {}).get("profile")) for r in records}
    assert seen == {("min_worker", "project"), ("pod_size", "harness")}
    for r in records:
        assert_bracketed(r, halvings=1)
    (pod,) = [r for r in records if r.phase == "pod_size"]
    assert pod.figures.task_id and pod.figures.role == "root"
    assert not (run / "probes").exists()  # kept until each record was written
    # The run says each probe as it ends: both bisections' probes, one line each.
    said = (tmp_path / "harness-run.log").read_text()
    progress = re.findall(r"probe at (no limit|\d+ MiB): (ok|oom|error|timeout)", said)
    assert len(progress) == sum(len(r.figures.probes) for r in records)
    assert tree_hashes(shop.parent) == before
