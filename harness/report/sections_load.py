"""The load-test sections of the report (issue 6): the concurrency sweep, the smallest
worker and the leak check (computed in harness.verdicts.sweep, .minworker and .soak);
debug mode and Cosmos versions are in harness.report.sections_checks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.compare.configs import size_label
from harness.compare.format import fmt_mib
from harness.compare.stats import Spread
from harness.registry.values import AxisValues
from harness.report.plots import concurrency_plots, soak_plot
from harness.report.text import fmt_pct, fmt_s, fmt_spread
from harness.report.view import Section, Table, cell
from harness.store.runinfo import Machine, RunInfo
from harness.verdicts import minworker as mw
from harness.verdicts import soak as sk
from harness.verdicts import sweep as sw

DASH = "-"


def or_dash(value: Any) -> Any:
    """A table's value, or a dash where there is none (an axis the record lacks)."""
    return DASH if value is None else value

LEAK_TEXT = "growth above 1 MiB per task"
"""What the soak phase's leak flag means (harness.run.recipes.soak.LEAK_KIB_PER_TASK)."""


def _opt(sp: Spread | None, unit: str) -> str:
    return fmt_spread(sp, unit) if sp else "failed"


def machine_text(info: RunInfo) -> str:
    """The machine a run was measured on, in a few words."""
    m = info.machine or Machine()
    cores = sw.machine_cores(info)
    return f"{m.node or '?'}: {cores if cores is not None else '?'} logical cores, {m.cpu or '?'}"


def _sweep_verdict(w: sw.Sweep) -> str:
    top = w.points[-1].concurrency
    if w.stops_after is None:
        return f"still paying at {top}, the highest measured"
    nxt = w.next_concurrency
    if w.next_ratio is None:
        return f"beyond {w.stops_after}: every repetition at {nxt} failed"
    return (
        f"beyond {w.stops_after}: the fastest above it, {nxt}, changes the median wall time "
        f"by {fmt_pct(w.next_ratio)}"
    )


def _sweep_table(sweeps: list[sw.Sweep]) -> Table:
    table = Table(
        [
            "size",
            "configuration",
            "concurrency",
            "ok/n",
            "wall time",
            "vs the previous concurrency",
            "DagRun duration",
            "peak memory",
            "task-slot-seconds",
        ],
        id="concurrency",
    )
    for w in sweeps:
        prev: sw.SweepPoint | None = None
        for p in w.points:
            step = ""
            if prev is not None and prev.time and p.time:
                step = fmt_pct(p.time.median / prev.time.median)
            table.rows.append(
                [
                    cell(size_label(w.size)),
                    cell(w.label),
                    cell(p.concurrency, strong=p.concurrency == w.stops_after),
                    cell(f"{p.n_ok}/{p.n}"),
                    cell(_opt(p.time, "s")),
                    cell(step),
                    cell(fmt_s(p.dag_run_s.median) if p.dag_run_s else DASH),
                    cell(_opt(p.memory, "bytes")),
                    cell(_opt(p.slots, "s") if p.time else "failed"),
                ]
            )
            prev = p
    return table


def sweep_section(sweeps: list[sw.Sweep], machine: str, cores: int | None) -> Section:
    """Where more concurrency stops paying, per configuration and size."""
    verdicts = Table(
        ["size", "configuration", "more concurrency stops paying", "peak memory there"],
        id="concurrency-verdicts",
    )
    for w in sweeps:
        knee = next((p for p in w.points if p.concurrency == w.stops_after), None)
        verdicts.add(
            size_label(w.size),
            w.label,
            cell(_sweep_verdict(w), strong=True),
            fmt_mib(knee.memory.median) if knee and knee.memory else DASH,
        )
    stops = Counter(w.stops_after for w in sweeps)
    parts = [
        f"beyond {c} in {n}" if c is not None else f"never (still paying) in {n}"
        for c, n in sorted(stops.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]
    return Section(
        "Concurrency: where more stops paying",
        level=3,
        id="concurrency-section",
        intro=[
            f"Measured on {machine}. More concurrency stops paying at the smallest value "
            f"beyond which no value measured (up to the first that failed) improves the "
            f"median wall time by {sw.MIN_GAIN:.0%} or more, or the next one fails: the "
            "same medians the recommendations' fastest is chosen on.",
            f"Of {len(sweeps)} configurations, more concurrency stops paying "
            + ", ".join(parts)
            + (f"; this machine has {cores} logical cores." if cores else "."),
        ],
        tables=[verdicts, _sweep_table(sweeps)],
        notes=[
            "Wall time is the whole measured `airflow dags test` (CLI start-up included); the "
            "DagRun duration is the run's own, from the metadata database. Medians with the "
            "interquartile range; in bold: the concurrency beyond which more stops paying."
        ],
        plots=concurrency_plots(sweeps, cores),
    )


def _mib(value: float | None) -> str:
    return f"{value:.0f} MiB" if value is not None else DASH


def _probe_text(p: mw.Probe) -> str:
    limit = "no limit" if p.limit_mib is None else f"{p.limit_mib:.0f} MiB"
    peak = f", peak {p.peak_mib:.0f} MiB" if p.peak_mib is not None else ""
    wall = f", {fmt_s(p.wall_s)}" if p.wall_s is not None else ""
    again = " (run again: the first failed without an OOM kill)" if p.repeat else ""
    why = f" ({p.reason[:120]})" if p.reason and p.status != "oom" else ""
    return f"{limit}{again}: {p.status}{peak}{wall}{why}"


def bisection_cells(m: mw.MinWorker) -> list[Any]:
    """A bisection's smallest limit, its bracket, the peak without a limit, their ratio and
    every probe: the columns every table of bisections (worker, Celery worker, pod) has."""
    found = m.min_limit_mib is not None and m.status == "ok"
    converged = (
        f" (not within {mw.MIN_WORKER_PRECISION:.0%}: the bisection's steps ran out)"
        if m.converged is False
        else ""
    )
    ratio = (
        f"x{m.min_limit_mib / m.unlimited_peak_mib:.2f}"
        if found and m.min_limit_mib and m.unlimited_peak_mib
        else DASH
    )
    repeated = sum(p.repeat for p in m.probes)
    unsteady = (
        f"; {repeated} probe(s) failed without an OOM kill and were run again: a failure"
        " the limit does not explain"
        if repeated
        else ""
    )
    interval = (
        f"fails at {_mib(m.max_failing_limit_mib)}: known to within "
        f"{(m.precision or 0):.1%}{converged}{unsteady}"
        if found
        else (m.reason or "") + unsteady
    )
    return [
        cell(_mib(m.min_limit_mib) if found else f"not found ({m.status})", strong=True),
        interval,
        _mib(m.unlimited_peak_mib),
        ratio,
        cell([_probe_text(p) for p in m.probes]),
    ]


BISECTION_HEADER = (
    "smallest limit that succeeds",
    "bisection",
    "peak without a limit",
    "limit / peak",
    "probes",
)


def _min_worker_row(m: mw.MinWorker) -> list[Any]:
    a = AxisValues.of(m.axes)
    return [
        size_label(m.size),
        or_dash(a.execution_mode),
        or_dash(a.execution_invocation),
        or_dash(a.load_mode),
        or_dash(a.concurrency),
        m.other,
        *bisection_cells(m),
    ]


def min_worker_section(rows: list[mw.MinWorker]) -> Section:
    """The smallest memory limit under which each whole DAG run still succeeded."""
    table = Table(
        [
            "size",
            "execution mode",
            "invocation",
            "load mode",
            "concurrency",
            "other options",
            *BISECTION_HEADER,
        ],
        id="min-worker",
    )
    for m in rows:
        table.rows.append([cell(v) for v in _min_worker_row(m)])
    return Section(
        "How big must my worker be",
        level=3,
        id="min-worker-section",
        intro=[
            "The smallest memory limit (cgroup) under which the whole DAG run still succeeded, "
            "found by bisection between a limit that fails and one that succeeds, each probe a "
            "complete run from a clean state. Celery workers are sized under "
            "*Celery worker size*."
        ],
        tables=[table],
    )


def _kib(value: Any) -> str:
    return f"{value:+.0f} KiB" if isinstance(value, int | float) else DASH


def _soak_row(k: sk.Soak) -> list[Any]:
    f = k.figures
    ci = f.growth_ci95_kib
    ci_text = (
        f" (95% CI {ci[0]:+.0f}..{ci[1]:+.0f})"
        if isinstance(ci, list) and len(ci) == 2 and all(isinstance(x, int | float) for x in ci)
        else ""
    )
    r2 = f.growth_r2
    rss = [f.baseline_rss_mib, f.first_task_rss_mib, f.last_rss_mib]
    task_s = f.task_s_median
    leak = {True: "LEAK", False: "no", None: "?"}[k.leak]
    return [
        size_label(k.size),
        k.label,
        k.status,
        "/".join(DASH if n is None else str(n) for n in (f.tasks, f.tasks_planned)),
        k.warmup,
        _kib(k.growth_kib) + ci_text,
        _kib(f.growth_theil_sen_kib),
        _kib(f.growth_second_half_kib),
        f"{r2:.2f}" if isinstance(r2, int | float) else DASH,
        " -> ".join(f"{v:.0f}" if isinstance(v, int | float) else "?" for v in rss) + " MiB",
        fmt_s(float(task_s)) if isinstance(task_s, int | float) else DASH,
        cell(leak, strong=True, css="verdict bad" if k.leak else "verdict"),
    ]


def soak_section(runs: list[sk.Soak]) -> Section:
    """The growth of memory task after task in one long-lived process."""
    table = Table(
        [
            "size",
            "invocation, parse",
            "status",
            "tasks done/planned",
            "warm-up",
            "growth per task",
            "Theil-Sen",
            "second half",
            "r²",
            "RSS before / after the first / after the last task",
            "median task time",
            "leak",
        ],
        id="soak",
    )
    for k in runs:
        table.rows.append([cell(v) for v in _soak_row(k)])
    return Section(
        "Leak check: memory task after task",
        level=3,
        id="soak-section",
        intro=[
            "One long-lived process runs model tasks one after another; the growth per task is "
            "the least-squares slope of its RSS after the warm-up (Theil-Sen: the median of "
            "pairwise slopes; second half: the slope over the second half only). "
            f"Flagged: {LEAK_TEXT}."
        ],
        tables=[table],
        plots=soak_plot(runs),
    )
