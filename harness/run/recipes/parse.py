"""The dag_parse phase: a fresh process parses the scenario's DAG file."""

from __future__ import annotations

from harness.run.context import Context, Outcome
from harness.run.recipes.dag import write_dag_file
from harness.run.recipes.parse_probe import parse_report
from harness.run.recipes.state import keep_after_parse, prepare_cache, project_copy


def run_dag_parse(ctx: Context) -> Outcome:
    """The DAG processor's cost: a fresh process parses the scenario's DAG file."""
    with ctx.step("project_copy"):
        ctx = project_copy(ctx)
    dag_file = write_dag_file(ctx)
    with ctx.step("cache"):
        failed = prepare_cache(ctx, dag_file)
    if failed is not None:
        return failed
    outcome, _ = parse_report(ctx, dag_file, measured=True)
    outcome.figures["cache"] = ctx.ax.cache
    if outcome.status == "ok":
        with ctx.step("keep"):  # after the measured command: its figures are taken
            keep_after_parse(ctx, dag_file)
    return outcome
