"""The dag_run phase: the whole DAG through the real LocalExecutor."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import time

from harness.run.context import Context, Outcome, run_dbt, status_of
from harness.run.recipes.dag import dag_spec, write_dag_file
from harness.run.recipes.state import prepare_cache
from harness.stack.airflow_db import DAG_ID, read_dag_run, read_debug_xcom, watchdog_figures
from harness.stack.celery import (
    Cluster,
    ClusterError,
    celery_cluster,
    celery_env,
    plan_workers,
)
from harness.stack.dagfile import cosmos_seen
from harness.stack.services import airflow_services, free_port
from harness.stack.task_logs import cause, keep_failed
from harness.stack.watchdog import SHUTDOWN_GRACE_S, ShutdownWatchdog
from harness.stack.workspace import airflow_bin, log_since, log_size, service_logs

# Airflow 3.3's scheduler sometimes marks a task FAILED that its executor reported as
# a success while the task instance still read "queued" (seen here with WATCHER's
# deferrable sensors under `dags test --use-executor`, about 1 run in 10).
# The same race shows with the task instance still "running" (seen on a real project).
# Twice in a row on a loaded machine (the suite of 2026-12-07): so up to two repeats.
AIRFLOW_RACE = re.compile(
    rb"finished with state success, but the task instance's state attribute is (queued|running)"
)


RACE_ATTEMPTS = 3
"""A DAG run lost to AIRFLOW_RACE is repeated at most twice."""


def run_dag_run(ctx: Context) -> Outcome:
    """The whole DAG through the real LocalExecutor, tasks in their own worker processes.

    A run lost to AIRFLOW_RACE is run again (at most RACE_ATTEMPTS in all) from the same
    cold or warm state; the record says so (``figures["airflow_race_retried"]``)."""
    # The spec is kept: its selection (run_nodes) is a figure, read from the manifest once.
    spec = dag_spec(ctx)
    dag_file = write_dag_file(ctx, spec)
    for attempt in range(1, RACE_ATTEMPTS + 1):
        failed = prepare_cache(ctx, dag_file)
        if failed is not None:
            return failed
        start = log_size(ctx.log)
        outcome = _dag_run_once(ctx, spec.select)
        if outcome.status != "error" or attempt == RACE_ATTEMPTS or not ctx.log.exists():
            break
        if not AIRFLOW_RACE.search(log_since(ctx.log, start)):
            break
    if attempt > 1:
        outcome.figures["airflow_race_retried"] = True
    return outcome


def _dag_run_once(ctx: Context, selected: tuple[str, ...]) -> Outcome:
    assert ctx.project is not None
    with ctx.step("warehouse"):
        if ctx.ax.run_nodes:
            # A slice of the models runs on top of its upstream tables, as mid-DAG tasks do.
            shutil.copy2(ctx.project.built_warehouse(), ctx.ws.warehouse)
        else:
            ctx.project.fresh_warehouse(ctx.ws.warehouse)
    port = free_port()
    env = ctx.env(api_port=port)
    watcher = ctx.ax.execution_mode == "WATCHER"
    watchdog = ShutdownWatchdog(ctx.ws.db, SHUTDOWN_GRACE_S)
    cmd = [airflow_bin(env), "dags", "test", DAG_ID, "--use-executor"]
    cluster: Cluster | None = None
    cluster_cm: contextlib.AbstractContextManager[Cluster | None]
    if ctx.ax.executor == "celery":
        cluster_cm, env = _celery(ctx, env, port, watcher)
        # The limit sizes each worker (celery.py); the scheduler loop runs without one.
        scheduler = dataclasses.replace(ctx, limit_mib=0)
    else:
        cluster_cm = airflow_services(env, port, ctx.ws.root / "services", triggerer=watcher)
        scheduler = ctx
    try:
        with cluster_cm as cluster:
            watchdog.broken = cluster.exited if cluster is not None else None
            watchdog.start()
            started, start = time.time(), log_size(ctx.log)
            try:
                result, dbt = run_dbt(scheduler, cmd, env)
            finally:
                watchdog.stop.set()
                watchdog.join()
    except ClusterError as exc:
        return Outcome("error", None, str(exc))
    figures = read_dag_run(ctx.ws.db)
    figures["dbt"] = dbt
    # The scheduler loop imports the DAG file in the measurement's environment.
    figures["cosmos_seen"] = cosmos_seen(log_since(ctx.log, start).decode(errors="replace"))
    if selected:
        figures["selected_models"] = list(selected)
    if cluster is not None:
        figures.update(cluster.figures())
    figures.update(read_debug_xcom(ctx.ws.db))
    figures["listening"] = sorted(watchdog.listening)
    if watchdog.ended_tree and result.status != "timeout":
        figures["ended_by_harness"] = (
            f"airflow dags test had not exited {SHUTDOWN_GRACE_S:.0f} s after its DagRun "
            "finished (LocalExecutor shutdown hung); the harness ended it"
        )
        result = dataclasses.replace(result, status="ok" if figures["dag_run_state"] else "error")
        figures.update(watchdog_figures(ctx.ws.db, DAG_ID, started, result.wall_s))
    status, reason = status_of(result, ctx.log)
    if cluster is not None and (broke := cluster.failed() or watchdog.broke) is not None:
        status, reason = ("oom" if " oom" in broke else "error"), broke
        if watchdog.broke:
            reason += "; the scheduler loop was ended: the run cannot finish without it"
    if status == "ok" and figures["dag_run_state"] != "success":
        bad = sorted(t for t, v in figures["tasks"].items() if v["state"] != "success")
        status, reason = (
            "error",
            f"dag run {figures['dag_run_state']}; not successful: {', '.join(bad)}",
        )
    if status != "ok" and figures.get("tasks"):
        reason = _with_task_cause(ctx, figures, reason)
    return Outcome(status, result, reason, figures)


def _with_task_cause(ctx: Context, figures: dict, reason: str | None) -> str | None:
    """Keep the failed tasks' own logs beside the measurement's, and name their cause."""
    failed = [t for t, v in figures["tasks"].items() if v.get("state") == "failed"]
    kept = keep_failed(ctx.ws.airflow_home / "logs", failed, service_logs(ctx.log) / "tasks")
    found = cause(kept)
    return f"{reason}; the failed task's log: {found}" if found else reason


def _celery(
    ctx: Context, env: dict[str, str], api_port: int, watcher: bool
) -> tuple[contextlib.AbstractContextManager[Cluster | None], dict[str, str]]:
    """The Celery deployment of this run and the environment every process of it gets."""
    a = ctx.axes
    workers = plan_workers(a["celery_workers"], a["worker_concurrency"], watcher)
    broker_port = free_port()
    env = celery_env(env, broker_port, a["celery_workers"] * a["worker_concurrency"])
    cm = celery_cluster(
        env,
        api_port,
        broker_port,
        workers,
        service_logs(ctx.log),
        ctx.ws.root / "services",
        ctx.timeout_s + 300,
        ctx.limit_bytes,
        triggerer=watcher,
    )
    return cm, env
