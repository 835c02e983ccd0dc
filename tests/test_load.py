"""The load-test kinds on the real stack, small (scenarios/load_small.toml): a
concurrency sweep at 1 and 2, the smallest worker by bisection with few steps (on a run
of 4 of the models), and Cosmos's debug-mode figure set against the harness's own
measurement."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from bisection import assert_bracketed

from harness.store.jsonl import read_records
from harness.store.record import Record

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


# The debug-mode pair's other side, the task with debug mode off, is the same measurement
# as the smoke matrix's LOCAL dbtRunner task (the same scenario id): it is measured once,
# there, and tests/test_run.py checks that it carries no Cosmos debug figure.
MEASURED_BY_THE_SMOKE_RUN = "not (task/ and debug_mode=off)"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[Record]:
    base = tmp_path_factory.mktemp("load")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(ROOT / "scenarios" / "load_small.toml"),
         "--run-id", "load", "--results-dir", str(base / "results"),
         "-k", MEASURED_BY_THE_SMOKE_RUN],
        cwd=base, capture_output=True, text=True, timeout=1500,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(read_records(base / "results" / "load" / "results.jsonl"))


def watcher_runs(records: list[Record]) -> list[Record]:
    """The concurrency sweep's DAG runs (the run_nodes check's are LOCAL)."""
    return [r for r in records if r.phase == "dag_run" and r.axes["execution_mode"] == "WATCHER"]


def test_concurrency_sweep_runs_at_1_and_2(records: list[Record]) -> None:
    runs = {r.axes["concurrency"]: r for r in watcher_runs(records)}
    assert set(runs) == {1, 2}
    for r in runs.values():
        assert r.status == "ok", r.reason
        assert r.figures.task_slot_seconds > 0
        assert r.measure is not None and r.measure.peak_tree_bytes > 0


def test_watcher_dag_run_finishes_and_its_sensors_succeed(records: list[Record]) -> None:
    """The sweep's runs are WATCHER's on 4 of the models (run_nodes): the producer builds,
    the selected models' sensors and tests, and only those, succeed (the smoke matrix runs
    WATCHER's producer task only, to share the suite's time)."""
    runs = watcher_runs(records)
    assert len(runs) == 2
    for r in runs:
        assert r.figures.dag_run_state == "success"
        tasks = r.figures.tasks
        selected = r.figures.selected_models
        assert selected is not None and len(selected) == 4
        assert "dbt_producer_watcher" in tasks
        assert {t.split(".")[0] for t in tasks} - {"dbt_producer_watcher"} == set(selected)
        assert len(tasks) == 1 + 2 * len(selected)  # a sensor and a test task per model
        assert all(t["state"] == "success" for t in tasks.values())


def test_smallest_worker_is_bracketed_by_a_success_and_a_failure(records: list[Record]) -> None:
    """Bisected on a run of 4 of the models (run_nodes), as big projects are: the record
    names the models its best probe ran."""
    (r,) = [r for r in records if r.phase == "min_worker"]
    assert_bracketed(r, halvings=1)
    assert r.axes["run_nodes"] == 4
    selected = r.figures.selected_models
    assert selected is not None and len(selected) == 4


def test_debug_mode_figure_is_set_against_the_measurement(records: list[Record]) -> None:
    on = [r for r in records if r.phase == "task" and r.axes["debug_mode"]]
    assert [r.axes["debug_poll_s"] for r in on] == [0.05]
    for r in on:
        assert r.status == "ok", r.reason
        debug = r.figures.cosmos_debug_max_memory_mb
        (task_id,) = debug
        assert task_id == r.figures.task_id
        assert r.measure is not None
        measured_mib = r.measure.peak_tree_bytes / 2**20
        # Cosmos's figure is a sampled RSS sum of the task's process tree: the same
        # order of magnitude as the harness's peak, never more than twice it.
        assert 0 < float(debug[task_id]) < 2 * measured_mib
    # Debug mode off (the smoke run's task): no such figure, tests/test_run.py.
    assert [r for r in records if r.phase == "task" and not r.axes["debug_mode"]] == []


RUN_NODES_TOLERANCE = 0.10
"""A run of 4 of the models peaks within 10% of the whole run on the LocalExecutor: the
run_nodes method's stated tolerance (docs/ARCHITECTURE.md, "Sizing")."""


def test_run_nodes_meets_the_whole_runs_peak(records: list[Record]) -> None:
    """4 models selected by Cosmos run 2 at a time, each task loading the whole project,
    and the worker peaks as in the whole DAG run."""
    local = {r.axes["run_nodes"]: r for r in records
             if r.phase == "dag_run" and r.axes["execution_mode"] == "LOCAL"}  # fmt: skip
    whole, part = local[None], local[4]
    for r in (whole, part):
        assert r.status == "ok", r.reason
        assert r.figures.dag_run_state == "success"
    selected = part.figures.selected_models
    assert selected is not None and len(selected) == 4 and whole.figures.selected_models is None
    # Known truth: the tasks of the selected models, and only those, ran; two of them at
    # once (the models are mutually independent, the DAG's max_active_tasks is 2).
    assert {t.split(".")[0] for t in part.figures.tasks} == set(selected)
    assert set(selected) < {t.split(".")[0] for t in whole.figures.tasks}
    assert part.figures.tasks_in_flight_max == 2
    assert whole.figures.tasks_in_flight_max == 2
    assert whole.measure is not None and part.measure is not None
    ratio = part.measure.peak_tree_bytes / whole.measure.peak_tree_bytes
    assert abs(ratio - 1) <= RUN_NODES_TOLERANCE, ratio
