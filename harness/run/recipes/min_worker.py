"""The smallest worker that survives: bisection of the memory limit (enforced by the
cgroup) under which the whole DAG run still succeeds.

The search starts from one run without a limit (its peak P); the limit 1.1 x P is
checked to succeed, 0 is taken to fail, and the interval is halved until it is
narrower than PRECISION of its upper end or the scenario's bisect_steps run out.
Each probe is a complete dag_run in its own workspace state (cold cache, empty
warehouse), so a failure under a limit cannot leave anything for the next probe.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from harness.run.context import Context, Outcome
from harness.run.recipes.dag_run import run_dag_run

PRECISION = 0.05
MIB = 1024 * 1024


def _probe(ctx: Context, limit_mib: int | None) -> tuple[Outcome, dict[str, Any]]:
    outcome = run_dag_run(dataclasses.replace(ctx, limit_mib=limit_mib or 0))
    m = outcome.measure
    row = {
        "limit_mib": limit_mib,
        "status": outcome.status,
        "peak_mib": round(m.peak_tree_bytes / MIB, 1) if m else None,
        "wall_s": round(m.wall_s, 2) if m else None,
    }
    return outcome, row


def run_min_worker(ctx: Context) -> Outcome:
    """Find the smallest limit (MiB, to within PRECISION) under which the DAG run succeeds."""
    free, row = _probe(ctx, None)
    probes = [row]
    if free.status != "ok" or free.measure is None:
        return Outcome(
            "error",
            free.measure,
            f"the run fails without a limit: {free.reason}",
            {"probes": probes},
        )
    peak_mib = free.measure.peak_tree_bytes / MIB
    hi = math.ceil(peak_mib * 1.1)
    best, row = _probe(ctx, hi)
    probes.append(row)
    if best.status != "ok":
        return Outcome(
            "error",
            best.measure,
            f"fails under 1.1 x its own peak ({hi} MiB)",
            {"probes": probes, "unlimited_peak_mib": round(peak_mib, 1)},
        )
    lo, steps = 0, 0
    while (hi - lo) / hi > PRECISION and steps < ctx.bisect_steps:
        mid = (lo + hi) // 2
        outcome, row = _probe(ctx, mid)
        probes.append(row)
        steps += 1
        if outcome.status == "ok":
            hi, best = mid, outcome
        else:
            lo = mid
    figures = {
        "min_limit_mib": hi,
        "max_failing_limit_mib": lo,
        "precision": round((hi - lo) / hi, 4),
        "converged": (hi - lo) / hi <= PRECISION,
        "unlimited_peak_mib": round(peak_mib, 1),
        "probes": probes,
    }
    return Outcome("ok", best.measure, None, figures)
