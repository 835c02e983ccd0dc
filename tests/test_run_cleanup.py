"""Nothing left behind after a crash; atomic run ids; the figures of a hung dags test;
the scheduler race's "running" form (issue 16). The SIGKILL fault-injection test on the
real stack is at the end (slow)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import psutil
import pytest

from harness.errors import UsageError
from harness.measure import cgroupfs
from harness.procs.cleanup import MARK_VAR, close_dead_runs, end_orphans, mark_of
from harness.run.recipes import dag_run as phases
from harness.run.runid import claim_new, lock_run
from harness.store.jsonl import read_records
from harness.store.record import Record
from harness.store.runinfo import read_run_info, write_run_info
from harness.store.timing import wall_time_s

ROOT = Path(__file__).resolve().parents[1]


def _dead_mark() -> str:
    dead = subprocess.Popen(["true"])
    dead.wait()
    return f"{dead.pid}:1.00"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# ---------------------------------------------------------------- run ids
def test_same_second_runs_get_distinct_folders(tmp_path: Path) -> None:
    """Two harnesses claiming one default id at once: each gets its own folder."""
    got: list[str] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        got.append(claim_new(tmp_path, "20260101-000000-smoke", explicit=False)[1])

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 8
    assert "20260101-000000-smoke" in got


def test_explicit_run_id_is_never_shared(tmp_path: Path) -> None:
    claim_new(tmp_path, "x", explicit=True)
    with pytest.raises(UsageError, match="exists"):
        claim_new(tmp_path, "x", explicit=True)


def test_a_run_folder_has_one_harness_at_a_time(tmp_path: Path) -> None:
    """A second harness (another process) cannot work in a locked run; after the holder
    dies, however, the lock is free."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from harness.run.runid import lock_run
            fh = lock_run(Path({str(tmp_path)!r}))
            print("locked", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(UsageError, match="in use by harness pid"):
        lock_run(tmp_path)
    holder.kill()
    holder.wait()
    lock_run(tmp_path).close()


# ---------------------------------------------------------------- orphans
def test_next_run_ends_processes_of_a_dead_harness_by_its_mark(tmp_path: Path) -> None:
    """A process whose mark names a dead harness is ended; one of a live harness and one
    without a mark (whatever its name) are not."""
    orphan = subprocess.Popen(["sleep", "60"], env={**os.environ, MARK_VAR: _dead_mark()},
                              start_new_session=True)
    live = subprocess.Popen(["sleep", "60"], env={**os.environ, MARK_VAR: mark_of(os.getpid())})
    unmarked = subprocess.Popen(["sleep", "60"], env={
        k: v for k, v in os.environ.items() if k != MARK_VAR})
    try:
        counts = end_orphans()
        assert counts["processes"] >= 1
        orphan.wait(timeout=5)
        assert _alive(live.pid) and _alive(unmarked.pid)
    finally:
        for p in (orphan, live, unmarked):
            p.kill()
            p.wait()


def test_stale_cgroup_with_processes_is_emptied_and_removed() -> None:
    mount = cgroupfs.v1_mount("memory") or cgroupfs.v2_mount()
    if mount is None or not os.access(mount, os.W_OK):
        pytest.skip("no writable cgroup hierarchy")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = mount / f"harness-{dead.pid}-1"
    stale.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (stale / "cgroup.procs").write_text(str(sleeper.pid))
        assert stale in cgroupfs.clean_stale(mount)
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
        assert not stale.exists()
    finally:
        sleeper.kill()
        if stale.exists():
            cgroupfs.destroy(stale)


def test_run_left_running_by_a_dead_harness_is_closed(tmp_path: Path) -> None:
    run = tmp_path / "r"
    (run / "work" / "m0000-r0").mkdir(parents=True)
    write_run_info(run, {"state": "running", "owner": _dead_mark()})
    mine = tmp_path / "mine"
    (mine / "work").mkdir(parents=True)
    write_run_info(mine, {"state": "running", "owner": mark_of(os.getpid())})
    assert close_dead_runs(tmp_path) == ["r"]
    assert getattr(read_run_info(run), "state", None) == "killed" and not (run / "work").exists()
    assert getattr(read_run_info(mine), "state", None) == "running" and (mine / "work").exists()


REAPED = """
import os, subprocess, sys, time
from harness.procs.cleanup import install_mark
from harness.stack.services import airflow_services  # noqa: F401 (services' imports load)
from harness.procs.supervise import die_with_parent, reaper
with reaper(install_mark()):
    grand = subprocess.Popen(["sleep", "300"], start_new_session=True)
    leader = subprocess.Popen(["sleep", "300"], start_new_session=True,
                              preexec_fn=die_with_parent)
    print(grand.pid, leader.pid, flush=True)
    time.sleep(300)
"""


def test_sigkilled_harness_leaves_nothing_running() -> None:
    """The reaper ends every process with the harness's mark once the harness is
    SIGKILLed, even in a session of its own; the parent-death signal ends a leader."""
    harness = subprocess.Popen([sys.executable, "-c", REAPED], stdout=subprocess.PIPE, text=True)
    assert harness.stdout is not None
    grand, leader = map(int, harness.stdout.readline().split())
    harness.kill()
    harness.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (_alive(grand) or _alive(leader)):
        time.sleep(0.1)
    assert not _alive(grand) and not _alive(leader)


# ---------------------------------------------------------------- dag_run figures
def _record(figures: dict[str, object], wall_s: float) -> Record:
    from harness.measure.result import MeasureResult

    m = MeasureResult(backend="sample", status="ok", exit_code=0, wall_s=wall_s,
                      user_cpu_s=1, system_cpu_s=0, peak_tree_bytes=1, peak_single_bytes=1,
                      processes_seen=1)
    return Record(run_id="r", scenario_id="dag_run/x", phase="dag_run", axes={}, repetition=0,
                  status="ok", measure=m, figures=figures)


def test_watchdog_end_is_kept_apart_and_the_dag_runs_own_time_is_used(tmp_path: Path) -> None:
    """A DagRun that ended 12 s after the command started, ended by the watchdog at 44 s."""
    import sqlite3
    from datetime import UTC, datetime

    from harness.stack.airflow_db import watchdog_figures

    db = tmp_path / "airflow.db"
    started = time.time() - 44.0
    end = datetime.fromtimestamp(started + 12.0, UTC).isoformat()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE dag_run (id INTEGER, dag_id TEXT, end_date TEXT)")
        conn.execute("INSERT INTO dag_run VALUES (1, ?, ?)", (phases.DAG_ID, end))
    figures = watchdog_figures(db, phases.DAG_ID, started, 44.0)
    assert figures["watchdog_end_s"] == 44.0
    assert figures["dag_run_end_s"] == pytest.approx(12.0, abs=0.01)
    assert wall_time_s(_record(figures, 44.0)) == pytest.approx(12.0, abs=0.01)
    assert wall_time_s(_record({}, 44.0)) == 44.0
    from harness.compare.samples import METRIC_BY_KEY

    assert METRIC_BY_KEY["time"].get(_record(figures, 44.0)) == pytest.approx(12.0, abs=0.01)


@pytest.mark.parametrize(("state", "races"), [("queued", 1), ("running", 1), ("queued", 2)])
def test_scheduler_race_is_retried_in_both_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str, races: int
) -> None:
    log = tmp_path / "run.log"
    attempts: list[int] = []

    def once(ctx: object, selected: tuple[str, ...]) -> phases.Outcome:
        attempts.append(1)
        if len(attempts) <= races:
            with log.open("a") as fh:
                fh.write("ERROR - Executor LocalExecutor reported that the task instance "
                         "<TaskInstance: x> finished with state success, but the task "
                         f"instance's state attribute is {state}.\n")
            return phases.Outcome("error", None, "dag run failed")
        return phases.Outcome("ok", None)

    monkeypatch.setattr(phases, "dag_spec", lambda ctx: types.SimpleNamespace(select=()))
    monkeypatch.setattr(phases, "write_dag_file", lambda ctx, spec: tmp_path / "dag.py")
    monkeypatch.setattr(phases, "prepare_cache", lambda ctx, f: None)
    monkeypatch.setattr(phases, "_dag_run_once", once)

    class Ctx:
        pass

    ctx = Ctx()
    ctx.log = log  # type: ignore[attr-defined]
    outcome = phases.run_dag_run(ctx)  # type: ignore[arg-type]
    assert outcome.status == "ok" and outcome.figures["airflow_race_retried"] is True
    assert len(attempts) == races + 1


# ---------------------------------------------------------------- measure --json
def test_measure_json_keeps_the_commands_stdout_out_of_the_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "measure", "--json", "--", "echo", "hello"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(proc.stdout)["status"] == "ok"
    assert "hello" in proc.stderr


# ---------------------------------------------------------------- fault injection
FAULT_TOML = 'repetitions = 2\ntimeout_s = 300\n[[matrix]]\nphases = ["import"]\n'
TRIALS = 10


def _left_by(pid: int, mark: str) -> list[str]:
    """Processes with the harness's mark and cgroups named for it."""
    left = [f"pid {p.pid}" for p in _marked(mark)]
    for parent in (cgroupfs.v1_mount("memory"), cgroupfs.v1_mount("cpuacct"), cgroupfs.v2_mount()):
        if parent is not None:
            left += [str(d) for d in parent.glob(f"harness-{pid}-*")]
    return left


def _marked(mark: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter():
        try:
            if p.environ().get(MARK_VAR) == mark and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    """SIGKILL the harness at random points of a small run, 10 times (the first start,
    then --resume); after each kill nothing of it is left running; then a second run
    (the --resume) cleans up and completes with every measurement recorded once."""
    rng = random.Random(16)
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(FAULT_TOML)
    results = tmp_path / "results"
    base = [sys.executable, "-m", "harness", "run", str(scenario), "--results-dir", str(results)]
    for trial in range(TRIALS):
        args = ["--run-id", "f"] if trial == 0 else ["--resume", "f"]
        harness = subprocess.Popen([*base, *args], cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        mark = mark_of(harness.pid)
        time.sleep(rng.uniform(0.5, 12.0))
        harness.kill()  # the harness alone, as a crash: not its group
        harness.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _left_by(harness.pid, mark):
            time.sleep(0.2)
        assert _left_by(harness.pid, mark) == [], f"trial {trial}"
    final = subprocess.run([*base, "--resume", "f"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=900)
    assert final.returncode == 0, final.stderr[-2000:]
    run = results / "f"
    assert not (run / "work").exists()
    assert getattr(read_run_info(run), "state", None) == "finished"
    lines = (run / "results.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    keys = [r.key for r in read_records(run / "results.jsonl")]
    assert sorted(keys) == sorted({(k[0], rep) for k in keys for rep in (0, 1)})
    assert len(keys) == 2 and len(set(keys)) == 2


@pytest.mark.slow
def test_sigterm_stops_a_background_run_as_ctrl_c_does(tmp_path: Path) -> None:
    """A run started as a shell's background job (SIGINT ignored) and stopped with
    SIGTERM, as `kill`, a CI timeout or a container stop do: it ends the measurement in
    progress, keeps what was measured, says how to resume, exits 130, leaves nothing."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(FAULT_TOML.replace("repetitions = 2", "repetitions = 6"))
    results = tmp_path / "results"

    def background_job() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    harness = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(scenario), "--results-dir", str(results),
         "--run-id", "t"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=background_job,
    )  # fmt: skip
    time.sleep(0.3)
    mark = mark_of(harness.pid)
    jsonl = results / "t" / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (jsonl.exists() and jsonl.read_text().strip()):
        time.sleep(0.2)
    harness.send_signal(signal.SIGTERM)
    _, err = harness.communicate(timeout=120)
    assert harness.returncode == 130, err[-2000:]
    assert "--resume t" in err
    assert _left_by(harness.pid, mark) == []
    assert getattr(read_run_info(results / "t"), "state", None) != "running"
    recorded = list(read_records(jsonl))
    assert 1 <= len(recorded) < 6 and all(r.status == "ok" for r in recorded)
