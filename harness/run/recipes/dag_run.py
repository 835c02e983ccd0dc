"""The dag_run phase: the whole DAG through the real LocalExecutor."""

from __future__ import annotations

import dataclasses
import re
import time

from harness.run.airflow_db import DAG_ID, read_dag_run, read_debug_xcom, watchdog_figures
from harness.run.context import Context, Outcome, run_dbt, status_of
from harness.run.recipes.dag import write_dag_file
from harness.run.recipes.state import prepare_cache
from harness.run.services import airflow_services, free_port
from harness.run.watchdog import SHUTDOWN_GRACE_S, ShutdownWatchdog
from harness.run.workspace import airflow_bin

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
    assert ctx.project is not None
    ctx.project.fresh_warehouse(ctx.ws.warehouse)
    port = free_port()
    env = ctx.env(api_port=port)
    triggerer = ctx.axes["execution_mode"] == "WATCHER"
    watchdog = ShutdownWatchdog(ctx.ws.db, SHUTDOWN_GRACE_S)
    with airflow_services(env, port, ctx.ws.root / "services", triggerer=triggerer):
        watchdog.start()
        started = time.time()
        try:
            cmd = [airflow_bin(), "dags", "test", DAG_ID, "--use-executor"]
            result, dbt = run_dbt(ctx, cmd, env)
        finally:
            watchdog.stop.set()
            watchdog.join()
    figures = read_dag_run(ctx.ws.db)
    figures["dbt"] = dbt
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
    if status == "ok" and figures["dag_run_state"] != "success":
        bad = sorted(t for t, v in figures["tasks"].items() if v["state"] != "success")
        status, reason = (
            "error",
            f"dag run {figures['dag_run_state']}; not successful: {', '.join(bad)}",
        )
    return Outcome(status, result, reason, figures)
