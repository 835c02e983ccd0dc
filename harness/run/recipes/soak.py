"""The soak phase: does a long-lived process grow, task after task?

One process (harness.run.probes.soak) runs ``soak_tasks`` model tasks one after
another, each a fresh Cosmos DbtRunLocalOperator executed in that process the
way a worker that reuses dbtRunner would (DBT_RUNNER), or with dbt in a
subprocess per task (SUBPROCESS, for comparison). The probe records its own
RSS/USS after every task; this module measures the whole run under
harness.measure (peak of the tree, time), fits the growth per task by least
squares after a warm-up, and flags growth above LEAK_KIB_PER_TASK.

Figures of a soak record (``Outcome.figures``):
    invocation, partial_parse, tasks (completed), tasks_planned, models
    warmup_tasks          tasks left out of the fit (first imports, caches filling)
    rss_mib, uss_mib      the series after each task (index 0 = before the first), MiB.
                          The fit uses RSS: USS moves by tens of MiB whenever another
                          process on the machine maps the same libraries (seen here),
                          so it is kept for reading, not fitted.
    growth_per_task_kib   least-squares slope of RSS over task index after warm-up
    growth_ci95_kib       [low, high]: 95% confidence interval of that slope
    growth_r2             r^2 of the fit (near 0: flat/noisy; near 1: steady growth)
    growth_theil_sen_kib  median-of-slopes estimate, robust to one-off jumps
    growth_second_half_kib  slope over the second half only (does growth settle?)
    gc_objects_per_task   the same slope for the number of live Python objects
    fds, threads          [after the first task, after the last]: leaked handles show here
    leak_flag             growth_per_task_kib > LEAK_KIB_PER_TASK
    baseline_rss_mib, first_task_rss_mib, last_rss_mib, task_s_median
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.run.context import Context, Outcome, log_tail
from harness.stack.workspace import dbt_bin

PROBE = "harness.run.probes.soak"
KIB = 1024
MIB = 1024 * 1024
LEAK_KIB_PER_TASK = 1024.0
"""The issue's threshold: growth above 1 MiB per task is flagged as a leak."""
MIN_FIT_POINTS = 3


def warmup_tasks(n: int) -> int:
    """Tasks left out of the fit: a tenth of the run, at least 3, leaving >= 3 to fit.

    The first task imports dbt (DBT_RUNNER: +135 MiB here) and the next ones fill
    dbt's and the allocator's caches: on 100 models RSS rose by another 14 MiB over
    tasks 2-15, then stayed flat to task 200. None of that repeats, so it is not
    growth; a soak much shorter than ~50 tasks overstates the slope.
    """
    return max(0, min(max(3, n // 10), n - MIN_FIT_POINTS))


@dataclass(frozen=True)
class Growth:
    """A linear fit of a per-task series over task index, in units per task."""

    slope: float
    """Least-squares slope (KiB per task for memory)."""
    ci95: tuple[float, float]
    """95% confidence interval of the slope (Student t on its standard error)."""
    r2: float
    """Coefficient of determination of the fit."""
    theil_sen: float
    """Theil-Sen slope: the median of pairwise slopes, robust to one-off jumps."""
    points: int
    """How many tasks were fitted."""

    @property
    def leak(self) -> bool:
        """Growth above the issue's threshold (1 MiB per task), for a fit in KiB."""
        return self.slope > LEAK_KIB_PER_TASK


def fit_growth(values: Sequence[float], start: int = 0, unit: float = KIB) -> Growth | None:
    """Least-squares slope of ``values`` (one per task, index = task) in ``unit``s
    per task (bytes -> KiB by default), using ``values[start:]``; None when fewer
    than MIN_FIT_POINTS remain."""
    from scipy import stats  # lazily: scipy costs ~0.3 s to import

    ys = [float(v) / unit for v in values[start:]]
    if len(ys) < MIN_FIT_POINTS:
        return None
    xs = list(range(start, start + len(ys)))
    if max(ys) == min(ys):
        # linregress's r is undefined for a constant series; a flat line fits exactly.
        return Growth(0.0, (0.0, 0.0), 1.0, 0.0, len(ys))
    fit = stats.linregress(xs, ys)
    half = float(stats.t.ppf(0.975, len(ys) - 2)) * float(fit.stderr)
    theil = stats.theilslopes(ys, xs)
    return Growth(
        slope=float(fit.slope),
        ci95=(float(fit.slope) - half, float(fit.slope) + half),
        r2=float(fit.rvalue) ** 2,
        theil_sen=float(theil.slope),
        points=len(ys),
    )


def soak_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The record's figures from the probe's JSON (see the module docstring)."""
    meta = report.get("meta", {})
    series = [report["baseline"], *report.get("tasks", [])] if "baseline" in report else []
    tasks = len(series) - 1 if series else 0
    warmup = warmup_tasks(tasks)
    rss = [s["rss"] for s in series]
    uss = [s["uss"] for s in series if s.get("uss") is not None]
    figures: dict[str, Any] = {
        "invocation": meta.get("invocation"),
        "partial_parse": meta.get("partial_parse"),
        "models": meta.get("models"),
        "tasks": tasks,
        "tasks_planned": meta.get("tasks_planned"),
        "warmup_tasks": warmup,
        "rss_mib": [round(v / MIB, 1) for v in rss],
        "uss_mib": [round(v / MIB, 1) for v in uss] if len(uss) == len(rss) else None,
        "import_s": meta.get("import_s"),
    }
    if series:
        figures["baseline_rss_mib"] = round(rss[0] / MIB, 1)
        figures["last_rss_mib"] = round(rss[-1] / MIB, 1)
    if tasks:
        figures["first_task_rss_mib"] = round(rss[1] / MIB, 1)
        figures["task_s_median"] = round(statistics.median(s["seconds"] for s in series[1:]), 3)
        figures["fds"] = [series[1]["fds"], series[-1]["fds"]]
        figures["threads"] = [series[1]["threads"], series[-1]["threads"]]
    # Index i of the series is "after task i", so the fit starts after the warm-up tasks.
    start = warmup + 1
    growth = fit_growth(rss, start)
    figures["growth_per_task_kib"] = round(growth.slope, 2) if growth else None
    figures["growth_ci95_kib"] = [round(v, 2) for v in growth.ci95] if growth else None
    figures["growth_r2"] = round(growth.r2, 4) if growth else None
    figures["growth_theil_sen_kib"] = round(growth.theil_sen, 2) if growth else None
    figures["leak_flag"] = growth.leak if growth else None
    second = fit_growth(rss, max(start, (len(rss) + start) // 2))
    figures["growth_second_half_kib"] = round(second.slope, 2) if second else None
    objects = fit_growth([s["gc_objects"] for s in series], start, unit=1)
    figures["gc_objects_per_task"] = round(objects.slope, 2) if objects else None
    return figures


def probe_command(ctx: Context, manifest: Path, out: Path) -> list[str]:
    """The probe's command line for this scenario."""
    p, a = ctx.project, ctx.axes
    assert p is not None
    return [
        sys.executable,
        "-m",
        PROBE,
        "--project-dir",
        str(p.path),
        "--profiles-dir",
        str(p.profiles_dir),
        "--profile",
        p.profile_name,
        "--target",
        p.target_name,
        "--manifest",
        str(manifest),
        "--tasks",
        str(a["soak_tasks"]),
        "--invocation",
        a["execution_invocation"],
        "--partial-parse" if a["partial_parse"] else "--no-partial-parse",
        # Cosmos's per-DAG cache folder (partial parse), inside the workspace.
        "--cache-dir",
        str(ctx.ws.cache_dir / "soak"),
        "--tmp-dir",
        str(ctx.ws.tmp),
        "--dbt",
        dbt_bin(),
        "--out",
        str(out),
    ]


def run_soak(ctx: Context) -> Outcome:
    """Run the soak probe under harness.measure and fit the growth per task."""
    p = ctx.project
    assert p is not None
    # The models' upstreams and seeds must exist: each task runs one model only.
    shutil.copy2(p.built_warehouse(), ctx.ws.warehouse)
    out = ctx.ws.root / "soak.json"
    out.unlink(missing_ok=True)
    # ctx.env(): AIRFLOW_HOME, TMPDIR, DBT_LOG_PATH, HARNESS_DUCKDB_PATH and the
    # Cosmos settings all point into the workspace, none into the project.
    result = ctx.run(probe_command(ctx, p.manifest(), out), ctx.env())
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {}
    figures = soak_figures(report) if report.get("baseline") else {}
    if result.status != "ok":
        failed = (report.get("error") or {}).get("message")
        detail = f"task {report['error']['task']}: {failed[-400:]}" if failed else log_tail(ctx.log)
        return Outcome(
            result.status, result, f"{result.status} (exit {result.exit_code}): {detail}", figures
        )
    if not report.get("baseline"):
        return Outcome("error", result, f"the probe wrote no series: {log_tail(ctx.log)}", figures)
    if figures["growth_per_task_kib"] is None:
        return Outcome(
            "error",
            result,
            f"{figures['tasks']} tasks: too few to fit growth after "
            f"{figures['warmup_tasks']} warm-up tasks",
            figures,
        )
    return Outcome("ok", result, None, figures)


__all__ = [
    "LEAK_KIB_PER_TASK",
    "Growth",
    "fit_growth",
    "run_soak",
    "soak_figures",
    "warmup_tasks",
]
