"""The import phase: a fresh interpreter imports Airflow and Cosmos."""

from __future__ import annotations

from harness.run.context import Context, Outcome, status_of


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
    optimised, target = ctx.ax.memory_optimised_imports, ctx.ax.import_target
    assert optimised is not None and target is not None  # a scenario carries every axis
    code = import_statement(optimised, target)
    result = ctx.run([ctx.python, "-c", code], ctx.env())
    status, reason = status_of(result, ctx.log)
    return Outcome(status, result, reason, {"statement": code})
