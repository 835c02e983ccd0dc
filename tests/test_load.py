"""The load-test kinds on the real stack, small (scenarios/load_small.toml): a
concurrency sweep at 1 and 2, the smallest worker by bisection with few steps, and
Cosmos's debug-mode figure set against the harness's own measurement."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.run.recipes.min_worker import CEILINGS
from harness.store.jsonl import read_records
from harness.store.record import Record

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[Record]:
    base = tmp_path_factory.mktemp("load")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(ROOT / "scenarios" / "load_small.toml"),
         "--run-id", "load", "--results-dir", str(base / "results")],
        cwd=base, capture_output=True, text=True, timeout=1500,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(read_records(base / "results" / "load" / "results.jsonl"))


def test_concurrency_sweep_runs_at_1_and_2(records: list[Record]) -> None:
    runs = {r.axes["concurrency"]: r for r in records if r.phase == "dag_run"}
    assert set(runs) == {1, 2}
    for r in runs.values():
        assert r.status == "ok", r.reason
        assert r.figures.task_slot_seconds > 0
        assert r.measure is not None and r.measure.peak_tree_bytes > 0


def test_smallest_worker_is_bracketed_by_a_success_and_a_failure(records: list[Record]) -> None:
    (r,) = [r for r in records if r.phase == "min_worker"]
    assert r.status == "ok", r.reason
    f = r.figures
    probes = f.probes
    # The truth of a bisection: the run succeeded under the limit it reports and
    # failed (or was never tried, at 0) under the largest limit below it.
    at_min = [p for p in probes if p["limit_mib"] == f.min_limit_mib]
    assert at_min and all(p["status"] == "ok" for p in at_min)
    below = [p for p in probes if p["limit_mib"] == f.max_failing_limit_mib]
    assert f.max_failing_limit_mib == 0 or all(p["status"] != "ok" for p in below)
    # The unlimited run, the ceilings (1.1 P first) up to the first that succeeds, and
    # one halving; a failure without an OOM kill is run once more (attempt 1).
    first = [p["limit_mib"] for p in probes if not p.get("attempt")]
    ceilings = [math.ceil(round(f.unlimited_peak_mib * c, 6)) for c in CEILINGS]
    assert first[0] is None and first[1] == ceilings[0]
    assert f.min_limit_mib <= max(c for c in ceilings if c in first)
    assert len(first) == 1 + sum(c in first for c in ceilings) + 1
    assert f.repeated_probes == len(probes) - len(first)
    # The measurement of that successful run stayed under its limit.
    assert r.measure is not None
    assert r.measure.peak_tree_bytes <= f.min_limit_mib * 2**20


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
    off = [r for r in records if r.phase == "task" and not r.axes["debug_mode"]]
    assert len(off) == 1 and off[0].figures.get("cosmos_debug_max_memory_mb") is None
