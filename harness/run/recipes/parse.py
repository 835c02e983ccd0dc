"""The dag_parse phase, and the parses other phases make first (unmeasured)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.measure import measure
from harness.run.airflow_db import DAG_ID
from harness.run.context import Context, Outcome, status_of
from harness.run.recipes.dag import write_dag_file
from harness.run.workspace import reset_cosmos_cache

PARSE_PROBE = "harness.run.probes.parse_dag"
# Cosmos's own rejections: a DAG file that raises one of these is an invalid combination.
COSMOS_REJECTIONS = ("CosmosValueError",)


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
    status, reason = status_of(result, ctx.log)
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
