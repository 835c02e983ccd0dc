"""How each phase is measured: the command, its environment, and what is read
back afterwards. Every phase runs in a fresh process tree under harness.measure."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from harness.measure import measure
from harness.measure.result import MeasureResult
from harness.run.dagfile import DagSpec, render_dag_file
from harness.run.dagrun_time import watchdog_figures
from harness.run.projects import PreparedProject
from harness.run.services import airflow_services, end_tree, free_port
from harness.run.workspace import Workspace, airflow_bin, airflow_env, dbt_bin, reset_cosmos_cache
from harness.scenarios.model import Scenario

DAG_ID = "cosmos_harness_scenario"
PARSE_PROBE = "harness.run.probes.parse_dag"
# Cosmos's own rejections: a DAG file that raises one of these is an invalid combination.
COSMOS_REJECTIONS = ("CosmosValueError",)


@dataclass
class Outcome:
    """What one repetition of a phase produced, before it becomes a record."""

    status: str
    measure: MeasureResult | None
    reason: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What every phase needs: where to work, the limit, the timeout, the log file."""

    ws: Workspace
    project: PreparedProject | None
    scenario: Scenario
    log: Path
    timeout_s: float
    venv_dir: Path
    phase: str = "dag_run"
    """The phase measured: it decides which options the DAG file sets."""
    python: str = sys.executable
    """Interpreter of the import and dag_parse phases: this environment's, or one
    with another Cosmos release (axis cosmos_version, harness.run.altenv)."""

    @property
    def axes(self) -> dict[str, Any]:
        return self.scenario.axes

    limit_mib: int | None = None
    """A limit that overrides the axis worker_limit_mib (the min_worker bisection)."""

    @property
    def limit_bytes(self) -> int | None:
        mib = self.limit_mib if self.limit_mib is not None else int(self.axes["worker_limit_mib"])
        return mib * 1024 * 1024 if mib else None

    def env(self, api_port: int | None = None) -> dict[str, str]:
        a = self.axes
        env = airflow_env(
            self.ws.airflow_home,
            tmp=self.ws.tmp,
            cache_dir=self.ws.cache_dir,
            warehouse=self.ws.warehouse,
            partial_parse=a["partial_parse"],
            memory_optimised_imports=a["memory_optimised_imports"],
            debug_mode=a["debug_mode"],
            concurrency=a["concurrency"],
            api_port=api_port,
        )
        # VIRTUALENV mode installs dbt with uv or pip: their caches stay in the run too.
        cache = str(self.venv_dir.parent / "pkg-cache")
        env.update({"UV_CACHE_DIR": cache, "PIP_CACHE_DIR": cache})
        if a["debug_mode"]:
            env["AIRFLOW__COSMOS__DEBUG_MEMORY_POLL_INTERVAL_SECONDS"] = str(a["debug_poll_s"])
        if self.python != sys.executable:
            # The probes are stdlib-only modules of this repo: another env imports them from here.
            env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        return env

    def run(self, cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> MeasureResult:
        """Measure ``cmd`` with this measurement's limit, timeout and log."""
        return measure(
            cmd,
            env=env,
            cwd=cwd or self.ws.root,
            limit_bytes=self.limit_bytes,
            timeout_s=self.timeout_s,
            stdout=self.log,
            stderr=self.log,
        )


def _status(result: MeasureResult, log: Path) -> tuple[str, str | None]:
    if result.status == "ok":
        return "ok", None
    return result.status, f"{result.status} (exit {result.exit_code}): {log_tail(log)}"


def log_tail(log: Path, lines: int = 3) -> str:
    """The last meaningful lines of a log, for a record's reason."""
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    keep = [ln.strip() for ln in text if ln.strip()][-lines:]
    return " | ".join(keep)[-600:]


# ---------------------------------------------------------------- import
def import_statement(optimised: bool, target: str = "DbtDag") -> str:
    """What a DAG file imports: the guide's full module paths, or the top-level names;
    or (target "package") the cosmos package alone, as Airflow's provider and plugin
    loading imports it. Airflow comes first: cosmos.constants before it is a
    circular import (trap 9)."""
    if target == "package":
        return "import airflow; import cosmos"
    if optimised:
        return "import airflow; from cosmos.airflow.dag import DbtDag"
    return "import airflow; from cosmos import DbtDag"


def run_import(ctx: Context) -> Outcome:
    """A fresh interpreter imports Airflow and Cosmos's DbtDag, as a DAG file does."""
    code = import_statement(ctx.axes["memory_optimised_imports"], ctx.axes["import_target"])
    result = ctx.run([ctx.python, "-c", code], ctx.env())
    status, reason = _status(result, ctx.log)
    return Outcome(status, result, reason, {"statement": code})


# ---------------------------------------------------------------- DAG file
def dag_spec(ctx: Context) -> DagSpec:
    """The scenario's DagSpec, with the artefacts its load mode needs made on demand."""
    a, p = ctx.axes, ctx.project
    assert p is not None
    load_mode = a["load_mode"]
    return DagSpec(
        dag_id=DAG_ID,
        project_dir=p.path,
        project_name=p.name,
        profile_name=p.profile_name,
        load_mode=load_mode,
        render_invocation=a["render_invocation"],
        execution_invocation=ctx.scenario.effective(ctx.phase).get("execution_invocation"),
        execution_mode=a["execution_mode"],
        partial_parse=a["partial_parse"],
        enable_mock_profile=a["enable_mock_profile"],
        memory_optimised_imports=a["memory_optimised_imports"],
        concurrency=a["concurrency"],
        manifest_path=p.manifest() if load_mode == "DBT_MANIFEST" else None,
        dbt_ls_path=p.dbt_ls_file() if load_mode == "DBT_LS_FILE" else None,
        profiles_yml=(p.path / "profiles.yml") if p.own_profile else None,
        virtualenv_dir=ctx.venv_dir,
        py_requirements=venv_requirements(),
    )


def venv_requirements() -> tuple[str, ...]:
    """VIRTUALENV mode installs the same dbt the harness measures elsewhere."""
    import importlib.metadata as md

    return tuple(f"{n}=={md.version(n)}" for n in ("dbt-core", "dbt-duckdb"))


def write_dag_file(ctx: Context) -> Path:
    """Write the scenario's DAG file into the workspace's dags folder."""
    path = ctx.ws.dags / f"{DAG_ID}.py"
    path.write_text(render_dag_file(dag_spec(ctx)))
    return path


def parse_report(ctx: Context, dag_file: Path, measured: bool) -> tuple[Outcome, dict[str, Any]]:
    """Parse the DAG file in a fresh process (the DAG processor's cost), measured or not."""
    out = ctx.ws.root / "parse.json"
    out.unlink(missing_ok=True)
    cmd = [ctx.python, "-m", PARSE_PROBE, str(dag_file), str(out)]
    if measured:
        result = ctx.run(cmd, ctx.env())
    else:
        result = measure(
            cmd,
            env=ctx.env(),
            cwd=ctx.ws.root,
            timeout_s=ctx.timeout_s,
            stdout=ctx.log,
            stderr=ctx.log,
        )
    report = json.loads(out.read_text()) if out.exists() else {}
    errors = report.get("import_errors") or {}
    if errors:
        message = next(iter(errors.values())).strip().splitlines()
        text = "\n".join(message)
        last = message[-1] if message else "import error"
        if any(name in text for name in COSMOS_REJECTIONS):
            return Outcome("invalid", result, last), report
        return Outcome("error", result, last), report
    status, reason = _status(result, ctx.log)
    tasks = report.get("dags", {}).get(DAG_ID, {}).get("tasks", {})
    figures = {
        "tasks": len(tasks),
        "parse_s": report.get("parse_s"),
        "import_s": report.get("import_s"),
    }
    return Outcome(status, result, reason, figures), report


def prepare_cache(ctx: Context, dag_file: Path) -> Outcome | None:
    """Cold: no dbt ls cache and no cached partial parse. Warm: one parse first.
    Returns the failed priming parse, if it failed."""
    reset_cosmos_cache(ctx.ws)
    if ctx.axes["cache"] == "warm":
        outcome, _ = parse_report(ctx, dag_file, measured=False)
        if outcome.status != "ok":
            return outcome
    return None


def run_dag_parse(ctx: Context) -> Outcome:
    """The DAG processor's cost: a fresh process parses the scenario's DAG file."""
    dag_file = write_dag_file(ctx)
    failed = prepare_cache(ctx, dag_file)
    if failed is not None:
        return failed
    outcome, _ = parse_report(ctx, dag_file, measured=True)
    outcome.figures["cache"] = ctx.axes["cache"]
    return outcome


# ---------------------------------------------------------------- task
def sample_tasks(tasks: dict[str, dict[str, Any]], execution_mode: str, n: int) -> dict[str, str]:
    """Role -> task id: the roots, middle and leaves of the model tasks (at most n).

    Under WATCHER the producer runs dbt for the whole DAG and the model tasks are
    sensors that wait for it, so the producer is the task measured.
    """
    if execution_mode == "WATCHER":
        producers = sorted(t for t, info in tasks.items() if "Producer" in info["operator"])
        return {"producer": producers[0]} if producers else {}
    runs = {t: info for t, info in tasks.items() if t.endswith(("_run", ".run"))}
    if not runs:
        return {}
    depth: dict[str, int] = {}

    def d(t: str) -> int:
        if t not in depth:
            ups = [u for u in runs.get(t, {}).get("upstream", []) if u in runs]
            depth[t] = 1 + max((d(u) for u in ups), default=0)
        return depth[t]

    order = sorted(runs, key=lambda t: (d(t), t))
    downstream = {u for info in runs.values() for u in info["upstream"]}
    leaves = [t for t in order if t not in downstream]
    picks = {
        "root": order[0],
        "middle": order[len(order) // 2],
        "leaf": leaves[-1] if leaves else order[-1],
    }
    out: dict[str, str] = {}
    for role, task in picks.items():
        if task not in out.values() and len(out) < n:
            out[role] = task
    return out


def task_roles(execution_mode: str, n: int) -> list[str]:
    """The roles sample_tasks can return, known before the DAG is parsed (for ids)."""
    return ["producer"] if execution_mode == "WATCHER" else ["root", "middle", "leaf"][:n]


def run_task(ctx: Context, role: str, n_sample: int) -> Outcome:
    """One task run as `airflow tasks test` runs it: the CLI parses the DAG and runs
    the task in its own process (DESIGN.md trap 4: the figure includes the CLI)."""
    assert ctx.project is not None
    dag_file = write_dag_file(ctx)
    probe, report = parse_report(ctx, dag_file, measured=False)
    if probe.status != "ok":
        return probe
    tasks = report["dags"][DAG_ID]["tasks"]
    sample = sample_tasks(tasks, ctx.axes["execution_mode"], n_sample)
    if role not in sample:
        return Outcome("error", None, f"no task for role {role!r} in this DAG")
    failed = prepare_cache(ctx, dag_file)
    if failed is not None:
        return failed
    shutil.copy2(ctx.project.built_warehouse(), ctx.ws.warehouse)
    task_id = sample[role]
    result = ctx.run([airflow_bin(), "tasks", "test", DAG_ID, task_id], ctx.env())
    status, reason = _status(result, ctx.log)
    figures: dict[str, Any] = {"task_id": task_id, "role": role, "sample": sample}
    figures.update(read_debug_xcom(ctx.ws.db))
    if ctx.axes["debug_mode"] and "cosmos_debug_max_memory_mb" not in figures:
        # `airflow tasks test` keeps no XCom of its temporary run; Cosmos logs the
        # same figure it pushes.
        logged = read_debug_log(ctx.log)
        if logged is not None:
            figures["cosmos_debug_max_memory_mb"] = {task_id: logged}
            figures["cosmos_debug_source"] = "task log"
    return Outcome(status, result, reason, figures)


_DEBUG_LINE = re.compile(r"Max memory usage \(RSS, incl\. children\): ([0-9.]+) MB")


def read_debug_log(log: Path) -> float | None:
    """The last figure Cosmos's debug mode logged (MiB: it divides bytes by 1024**2)."""
    try:
        found = _DEBUG_LINE.findall(log.read_text(errors="replace"))
    except OSError:
        return None
    return float(found[-1]) if found else None


# ---------------------------------------------------------------- dag_run
def read_dag_run(db: Path) -> dict[str, Any]:
    """Task states and durations of the run, from the metadata database."""
    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "SELECT state, start_date, end_date, run_id FROM dag_run"
            " WHERE dag_id=? ORDER BY id DESC LIMIT 1",
            (DAG_ID,),
        ).fetchone()
        rows = conn.execute(
            "SELECT task_id, state, duration FROM task_instance"
            " WHERE dag_id=? AND run_id=? ORDER BY task_id",
            (DAG_ID, run[3] if run else None),
        ).fetchall()
    tasks = {r[0]: {"state": r[1], "duration_s": r[2]} for r in rows}
    return {
        "dag_run_state": run[0] if run else None,
        "dag_run_s": _seconds_between(run[1], run[2]) if run else None,
        "tasks": tasks,
        "task_slot_seconds": sum((t["duration_s"] or 0.0) for t in tasks.values()),
    }


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (
            datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))
        ).total_seconds()
    except ValueError:
        return None


def read_debug_xcom(db: Path) -> dict[str, Any]:
    """Cosmos debug mode's own peak figure per task (XCom cosmos_debug_max_memory_mb)."""
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT task_id, value FROM xcom WHERE key='cosmos_debug_max_memory_mb'"
            ).fetchall()
    except sqlite3.Error:
        return {}
    if not rows:
        return {}
    values = {}
    for task_id, raw in rows:
        try:
            values[task_id] = json.loads(raw if isinstance(raw, str) else raw.decode())
        except (ValueError, AttributeError):
            values[task_id] = str(raw)
    return {"cosmos_debug_max_memory_mb": values}


SHUTDOWN_GRACE_S = 30.0


class _ShutdownWatchdog(threading.Thread):
    """Ends `airflow dags test` when its DagRun has finished but the CLI does not exit.

    Seen here: after "DagRun Finished", LocalExecutor.end() sometimes waits forever
    on a worker (the CLI logs "Shutting down LocalExecutor; waiting for running
    tasks to finish" and nothing more). The run's work is done, so the harness
    ends the tree after a grace period and says so in the record.
    """

    def __init__(self, db: Path, grace_s: float) -> None:
        super().__init__(daemon=True)
        self.db, self.grace_s = db, grace_s
        # Only a run started after this one counts (min_worker reuses the database).
        self.after_id = newest_dag_run_id(db)
        self.stop = threading.Event()
        self.ended_tree = False
        self.listening: set[str] = set()
        """Every address a process of the harness listened on during the run."""

    def run(self) -> None:
        while not self.stop.wait(2.0):
            self.listening |= listening_addresses()
            if dag_run_state(self.db, self.after_id) in ("success", "failed"):
                if self.stop.wait(self.grace_s):
                    return
                self.ended_tree = _end_dags_test()
                return


def _query_one(db: Path, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row: tuple[Any, ...] | None = conn.execute(sql, args).fetchone()
            return row
    except sqlite3.Error:
        return None


def newest_dag_run_id(db: Path) -> int:
    """Id of the newest run of the scenario DAG (0 when there is none)."""
    row = _query_one(db, "SELECT max(id) FROM dag_run WHERE dag_id=?", (DAG_ID,))
    return int(row[0]) if row and row[0] is not None else 0


def listening_addresses() -> set[str]:
    """host:port of every listening TCP socket of this process's descendants."""
    found = set()
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            for c in proc.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN and c.laddr:
                    found.add(f"{c.laddr.ip}:{c.laddr.port}")
    return found


def dag_run_state(db: Path, after_id: int = 0) -> str | None:
    """State of the newest run of the scenario DAG with an id above ``after_id``."""
    row = _query_one(
        db,
        "SELECT state FROM dag_run WHERE dag_id=? AND id>? ORDER BY id DESC LIMIT 1",
        (DAG_ID, after_id),
    )
    return row[0] if row else None


def _end_dags_test() -> bool:
    ended = False
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmd = proc.cmdline()
            if "dags" in cmd and "test" in cmd and DAG_ID in cmd:
                end_tree(proc, grace_s=5)
                ended = True
    return ended


# Airflow 3.3's scheduler sometimes marks a task FAILED that its executor reported as
# a success while the task instance still read "queued" (seen here with WATCHER's
# deferrable sensors under `dags test --use-executor`, about 1 run in 10).
# The same race shows with the task instance still "running" (seen on a real project).
AIRFLOW_RACE = re.compile(
    rb"finished with state success, but the task instance's state attribute is (queued|running)"
)


def run_dag_run(ctx: Context) -> Outcome:
    """The whole DAG through the real LocalExecutor, tasks in their own worker processes.

    A run lost to AIRFLOW_RACE is run once more from the same cold or warm state; the
    record says so (``figures["airflow_race_retried"]``)."""
    dag_file = write_dag_file(ctx)
    for attempt in (1, 2):
        failed = prepare_cache(ctx, dag_file)
        if failed is not None:
            return failed
        start = ctx.log.stat().st_size if ctx.log.exists() else 0
        outcome = _dag_run_once(ctx)
        if outcome.status != "error" or attempt == 2:
            break
        with ctx.log.open("rb") as fh:
            fh.seek(start)
            if not AIRFLOW_RACE.search(fh.read()):
                break
    if attempt == 2:
        outcome.figures["airflow_race_retried"] = True
    return outcome


def _dag_run_once(ctx: Context) -> Outcome:
    ctx.ws.warehouse.unlink(missing_ok=True)
    port = free_port()
    env = ctx.env(api_port=port)
    triggerer = ctx.axes["execution_mode"] == "WATCHER"
    watchdog = _ShutdownWatchdog(ctx.ws.db, SHUTDOWN_GRACE_S)
    with airflow_services(env, port, ctx.ws.root / "services", triggerer=triggerer):
        watchdog.start()
        started = time.time()
        try:
            result = ctx.run([airflow_bin(), "dags", "test", DAG_ID, "--use-executor"], env)
        finally:
            watchdog.stop.set()
            watchdog.join()
    figures = read_dag_run(ctx.ws.db)
    figures.update(read_debug_xcom(ctx.ws.db))
    figures["listening"] = sorted(watchdog.listening)
    if watchdog.ended_tree and result.status != "timeout":
        figures["ended_by_harness"] = (
            f"airflow dags test had not exited {SHUTDOWN_GRACE_S:.0f} s after its DagRun "
            "finished (LocalExecutor shutdown hung); the harness ended it"
        )
        result = dataclasses.replace(result, status="ok" if figures["dag_run_state"] else "error")
        figures.update(watchdog_figures(ctx.ws.db, DAG_ID, started, result.wall_s))
    status, reason = _status(result, ctx.log)
    if status == "ok" and figures["dag_run_state"] != "success":
        bad = sorted(t for t, v in figures["tasks"].items() if v["state"] != "success")
        status, reason = (
            "error",
            f"dag run {figures['dag_run_state']}; not successful: {', '.join(bad)}",
        )
    return Outcome(status, result, reason, figures)


# ---------------------------------------------------------------- dbt_baseline
def run_dbt_baseline(ctx: Context) -> Outcome:
    """Plain `dbt build` of the project without Airflow: the floor of every Cosmos figure."""
    p = ctx.project
    assert p is not None
    ctx.ws.warehouse.unlink(missing_ok=True)
    shutil.rmtree(ctx.ws.target, ignore_errors=True)
    cmd = [
        dbt_bin(),
        "build",
        "--threads",
        str(ctx.axes["concurrency"]),
        *p.dbt_args(ctx.ws.target),
    ]
    env = p.env(ctx.ws.warehouse, log_dir=ctx.ws.tmp)
    result = ctx.run(cmd, env)
    status, reason = _status(result, ctx.log)
    return Outcome(status, result, reason, {"threads": ctx.axes["concurrency"]})


PHASE_RUNNERS: dict[str, Callable[[Context], Outcome]] = {
    "import": run_import,
    "dag_parse": run_dag_parse,
    "dag_run": run_dag_run,
    "dbt_baseline": run_dbt_baseline,
}
