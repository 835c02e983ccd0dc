"""`harness run --rerun-failed RUN_ID`: a run's failed repetitions measured again, into the
same run; readers take each repetition's latest record (issue 12, item 6)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from harness.compare.runs import load_run
from harness.store.jsonl import RESULTS_FILE, latest, read_records, write_records
from harness.store.record import Record
from harness.store.runinfo import write_run_info

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = """
repetitions = 2
[[matrix]]
phases = ["import"]
"""


def _record(sid: str, rep: int, status: str) -> Record:
    return Record("r", sid, "import", {}, rep, status, None if status == "ok" else "boom")  # type: ignore[arg-type]


def test_latest_keeps_the_last_record_of_each_repetition() -> None:
    a0, a1 = _record("import/x", 0, "error"), _record("import/x", 1, "ok")
    again = dataclasses.replace(a0, status="ok", reason=None)
    assert latest([a0, a1, again]) == [again, a1]


def test_resume_and_rerun_failed_together_are_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", "a", "--rerun-failed", "a",
         "--results-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "give one of them" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_rerun_failed_measures_only_the_failed_repetition(tmp_path: Path) -> None:
    run = tmp_path / "results" / "r"
    run.mkdir(parents=True)
    (run / "scenario.toml").write_text(SCENARIO)
    sid = "import/memory_optimised_imports=off/worker_limit_mib=0"
    # A run whose repetition 1 failed (as an OOM or a crash would leave it).
    write_records(run / RESULTS_FILE, [_record(sid, 0, "ok"), _record(sid, 1, "error")])
    write_run_info(run, {"run_id": "r", "state": "finished"})
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--rerun-failed", "r",
         "--results-dir", str(tmp_path / "results")],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    raw = list(read_records(run / RESULTS_FILE))
    # repetition 0 was ok and left alone; repetition 1 measured again and appended
    assert [(r.repetition, r.status) for r in raw] == [(0, "ok"), (1, "error"), (1, "ok")]
    assert raw[-1].measure is not None and raw[-1].measure.peak_tree_bytes > 0
    loaded = load_run(run)
    assert sorted((r.repetition, r.status) for r in loaded.records) == [(0, "ok"), (1, "ok")]
