"""`harness run --rerun-failed RUN_ID`: a run's failed repetitions measured again, into the
same run; readers take each repetition's latest record (issue 12, item 6)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest

from harness.compare.runs import load_run
from harness.store.jsonl import RESULTS_FILE, latest, read_records, write_records
from harness.store.record import Record
from harness.store.runinfo import read_run_info, write_run_info

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = """
repetitions = 2
[[matrix]]
phases = ["import"]
"""


def _record(sid: str, rep: int, status: str) -> Record:
    return Record("r", sid, "import", {}, rep, status, None if status == "ok" else "boom")  # type: ignore[arg-type]


def _stand_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recipe: Any) -> None:
    """No Airflow: every phase runs ``recipe``, its workspace a bare folder."""
    from harness.run import runner

    monkeypatch.setattr(runner, "recipe", lambda phase: recipe)
    monkeypatch.setattr(runner, "make_template_home", lambda run_dir: None)
    monkeypatch.setattr(runner, "new_workspace",
                        lambda run_dir, name: types.SimpleNamespace(root=tmp_path / name))


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
    # The failed attempt's log, under the name the rerun's numbering gives it again.
    old_log = run / "logs" / "0000-import-r1.log"
    old_log.parent.mkdir()
    old_log.write_text("the failed attempt\n")
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
    # The new attempt logs apart: nothing read from a log mixes the two attempts.
    assert old_log.read_text() == "the failed attempt\n"
    assert (run / "logs" / "0000-import-r1-a2.log").stat().st_size > 0
    # run.json says the run was taken up again, and at what machine speed
    info = read_run_info(run)
    assert info is not None and len(info.resumed_at) == 1 and len(info.cpu_reference) == 1


def test_a_bug_in_a_recipe_is_recorded_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception in one repetition (here an AttributeError, as a harness
    upgraded under a running run raised) is an error record with its reason and
    traceback; the next repetition is measured; run.json ends "finished"."""
    from harness.run.context import Context, Outcome
    from harness.run.runner import execute, units_of
    from harness.scenarios.matrix import expand
    from harness.scenarios.scenario_file import parse_scenarios
    from harness.stack.workspace import RunDir
    from harness.store.runinfo import read_run_info

    text = "repetitions = 2\n[[matrix]]\nphases = ['import']\n"
    spec = parse_scenarios(tomllib.loads(text), tmp_path / "s.toml", text)
    units = units_of(expand(spec), 1)
    calls: list[int] = []

    def flaky(ctx: Context) -> Outcome:
        calls.append(1)
        if len(calls) == 1:
            raise AttributeError("'Phase' object has no attribute 'makes'")
        return Outcome("ok", None)

    _stand_in(monkeypatch, tmp_path, flaky)
    run_dir = RunDir(tmp_path / "results" / "r")
    counts = execute(spec, units, run_dir, "r")
    assert counts == {"error": 1, "ok": 1}
    first, second = read_records(run_dir.root / RESULTS_FILE)
    assert first.status == "error" and first.reason is not None
    assert "harness error AttributeError" in first.reason and "makes" in first.reason
    log = run_dir.logs / str(first.figures.log).split("/")[-1]
    assert "Traceback" in log.read_text()
    assert second.status == "ok"
    assert getattr(read_run_info(run_dir.root), "state", None) == "finished"


def test_a_run_that_dies_is_not_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.run import runner
    from harness.run.runner import execute, units_of
    from harness.scenarios.matrix import expand
    from harness.scenarios.scenario_file import parse_scenarios
    from harness.stack.workspace import RunDir
    from harness.store.runinfo import read_run_info

    text = "[[matrix]]\nphases = ['import']\n"
    spec = parse_scenarios(tomllib.loads(text), tmp_path / "s.toml", text)

    def broken(run_dir: RunDir) -> None:
        raise MemoryError

    monkeypatch.setattr(runner, "make_template_home", broken)
    run_dir = RunDir(tmp_path / "results" / "r")
    with pytest.raises(MemoryError):
        execute(spec, units_of(expand(spec), 1), run_dir, "r")
    assert getattr(read_run_info(run_dir.root), "state", None) == "failed"


def test_a_stop_lost_in_a_measurement_ends_the_run_before_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C whose KeyboardInterrupt Python dropped (raised in a finalizer,
    harness.measure.interrupt) still ends the run: the repetition under way is recorded,
    the next is not measured, run.json says interrupted."""
    import contextlib
    import signal

    from harness.measure import interrupt
    from harness.run.context import Context, Outcome
    from harness.run.runner import execute, units_of
    from harness.scenarios.matrix import expand
    from harness.scenarios.scenario_file import parse_scenarios
    from harness.stack.workspace import RunDir
    from harness.store.runinfo import read_run_info

    text = "repetitions = 3\n[[matrix]]\nphases = ['import']\n"
    spec = parse_scenarios(tomllib.loads(text), tmp_path / "s.toml", text)
    calls: list[int] = []

    def stopped_in_a_finalizer(ctx: Context) -> Outcome:
        calls.append(1)
        handler = signal.getsignal(signal.SIGUSR1)
        with contextlib.suppress(KeyboardInterrupt):  # as Python drops it in a __del__
            handler(signal.SIGUSR1, None)  # type: ignore[operator]
        return Outcome("ok", None)

    _stand_in(monkeypatch, tmp_path, stopped_in_a_finalizer)
    run_dir = RunDir(tmp_path / "results" / "r")
    previous = interrupt.install([signal.SIGUSR1], interrupt.keyboard_interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            execute(spec, units_of(expand(spec), 1), run_dir, "r")
    finally:
        interrupt.restore(previous)
    assert len(calls) == 1
    assert [r.status for r in read_records(run_dir.root / RESULTS_FILE)] == ["ok"]
    assert getattr(read_run_info(run_dir.root), "state", None) == "interrupted"
