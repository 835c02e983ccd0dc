"""Rough seconds per repetition of each phase, seen on this 2-core machine.

Used for --dry-run's total and to weight the progress bar so its time-left
figure follows the slow phases; the real times are in the results.
"""

from __future__ import annotations

from harness.scenarios.matrix import Measurement


def estimate_s(m: Measurement) -> float:
    """Expected wall seconds of one repetition of ``m`` (with its set-up)."""
    models = m.scenario.project.models or 100
    axes = m.scenario.axes
    ls = axes["load_mode"] in ("DBT_LS", "AUTOMATIC")
    parse = 5.0 + (0.004 if axes["load_mode"] == "DBT_MANIFEST" else 0.012) * models
    if ls and axes["cache"] == "warm":
        parse *= 2
    if m.phase == "import":
        return 4.0
    if m.phase == "dag_parse":
        return parse
    if m.phase == "task":
        return parse + 15.0
    if m.phase == "dag_run":
        per_task = 1.0 if axes["execution_mode"] == "WATCHER" else 6.0
        return 25.0 + parse + per_task * models * 1.2 / max(1, axes["concurrency"])
    if m.phase == "min_worker":
        run = 25.0 + parse + (1.0 if axes["execution_mode"] == "WATCHER" else 6.0) * models * 1.2
        return run * 7
    if m.phase == "soak":
        per = 1.5 if axes["execution_invocation"] == "DBT_RUNNER" else 4.0
        return 10.0 + per * axes["soak_tasks"]
    return 4.0 + 0.05 * models  # dbt_baseline
