"""The dbt_baseline phase: plain `dbt build`, the floor of every Cosmos figure."""

from __future__ import annotations

import shutil

from harness.registry import PHASES
from harness.run.context import Context, Outcome, run_dbt, status_of
from harness.stack.workspace import dbt_bin


def run_dbt_baseline(ctx: Context) -> Outcome:
    """Plain `dbt build` of the project without Airflow: the floor of every Cosmos figure."""
    p = ctx.project
    assert p is not None
    p.fresh_warehouse(ctx.ws.warehouse)
    shutil.rmtree(ctx.ws.target, ignore_errors=True)
    cmd = [
        dbt_bin(),
        "build",
        "--threads",
        str(ctx.ax.concurrency),
        *p.dbt_args(ctx.ws.target),
    ]
    env = p.env(ctx.ws.warehouse, log_dir=ctx.ws.tmp)
    result, dbt = run_dbt(ctx, cmd, env)
    status, reason = status_of(result, ctx.log)
    if status == "ok":
        # The same full build a task's upstream needs: the project's tasks read it.
        for name in PHASES[ctx.phase].makes:
            p.adopt(name, ctx.ws.warehouse)
    return Outcome(status, result, reason, {"threads": ctx.ax.concurrency, "dbt": dbt})
