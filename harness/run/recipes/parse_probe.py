"""Parse the scenario's DAG file in a fresh process (harness.run.probes.parse_dag), as
the DAG processor does: measured (the dag_parse phase) or not (set-up of other phases)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.measure import measure
from harness.run.context import Context, Outcome, run_dbt, status_of
from harness.stack.airflow_db import DAG_ID

PARSE_PROBE = "harness.run.probes.parse_dag"
# Cosmos's own rejections: a DAG file that raises one of these is an invalid combination.
COSMOS_REJECTIONS = ("CosmosValueError",)
PROBE_FIGURES = ("parse_s", "import_s", "airflow_parse_s", "limits")
NEAR_LIMIT = 0.8
"""A parse that takes this share of one of Airflow's limits is flagged "near"."""
TIMED_OUT = "DagBag import timeout"
PROCESSOR_TIMEOUT = "dag_file_processor_timeout"


def timeout_margins(report: dict[str, Any]) -> dict[str, Any]:
    """Seconds left under Airflow's parse limits, and the flag (ParseFigures)."""
    limits = report.get("limits") or {}
    parse = report.get("airflow_parse_s") or report.get("parse_s")
    if parse is None or not limits:
        return {}
    # The DAG processor forks its file processors with Airflow already imported, so
    # both limits are spent by the file's own parse (Cosmos's import included).
    spent = {"dagbag_import_timeout": parse, "dag_file_processor_timeout": parse}
    margin = {k: round(limits[k] - v, 3) for k, v in spent.items() if k in limits}
    timed_out = any(TIMED_OUT in str(e) for e in (report.get("import_errors") or {}).values())
    flag = None
    if timed_out or any(m <= 0 for m in margin.values()):
        flag = "passed"
    elif any(spent[k] >= NEAR_LIMIT * limits[k] for k in margin):
        flag = "near"
    return {"timeout_margin": margin, "timeout_flag": flag}


def parse_report(ctx: Context, dag_file: Path, measured: bool) -> tuple[Outcome, dict[str, Any]]:
    """Parse the DAG file in a fresh process (the DAG processor's cost), measured or not."""
    out = ctx.ws.root / "parse.json"
    out.unlink(missing_ok=True)
    cmd = [ctx.python, "-m", PARSE_PROBE, str(dag_file), str(out)]
    dbt = None
    if measured:
        result, dbt = run_dbt(ctx, cmd, ctx.env())
    else:
        # A set-up parse (priming a cache, sampling tasks) is not the DAG processor's:
        # Airflow's 30 s import timeout must not cut it short on a large project.
        env = {**ctx.env(), "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": str(ctx.timeout_s)}
        result = measure(
            cmd,
            env=env,
            cwd=ctx.ws.root,
            timeout_s=ctx.timeout_s,
            stdout=ctx.log,
            stderr=ctx.log,
        )
    report = json.loads(out.read_text()) if out.exists() else {}
    tasks = report.get("dags", {}).get(DAG_ID, {}).get("tasks", {})
    figures: dict[str, Any] = {"tasks": len(tasks), "dbt": dbt}
    figures.update({k: report.get(k) for k in PROBE_FIGURES})
    figures.update(timeout_margins(report))
    if not measured:
        # A set-up parse of another phase: its outcome, if returned, is that phase's.
        figures = {}
    errors = report.get("import_errors") or {}
    if errors:
        message = next(iter(errors.values())).strip().splitlines()
        text = "\n".join(message)
        last = message[-1] if message else "import error"
        if figures.get("timeout_flag") == "passed" and TIMED_OUT in text:
            last = f"{TIMED_OUT}: the parse passed Airflow's dagbag_import_timeout"
        if any(name in text for name in COSMOS_REJECTIONS):
            return Outcome("invalid", result, last, figures), report
        return Outcome("error", result, last, figures), report
    status, reason = status_of(result, ctx.log)
    killed = killed_by_processor(figures)
    if status == "ok" and killed is not None:
        status, reason = "error", killed
    return Outcome(status, result, reason, figures), report


def killed_by_processor(figures: dict[str, Any]) -> str | None:
    """Why a parse that imported the file still fails in Airflow: it took longer than
    dag_file_processor_timeout, past which the DAG processor kills the file's processor.
    dagbag_import_timeout, a SIGALRM inside the parse, can fire late or not at all
    (docs/ARCHITECTURE.md, trap 24), so an import that finished proves nothing."""
    over = (figures.get("timeout_margin") or {}).get(PROCESSOR_TIMEOUT)
    if over is None or over > 0:
        return None
    took = figures.get("airflow_parse_s") or figures.get("parse_s") or 0.0
    return (
        f"the parse took {took:.1f} s, past Airflow's {PROCESSOR_TIMEOUT}: the DAG "
        "processor kills the file's processor"
    )
