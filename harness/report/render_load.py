"""The load-test sections of the report (issue 6) as rows of text for the templates:
the concurrency sweep, the smallest worker, the leak check, debug mode checked and
memory-optimised imports across Cosmos versions (computed in harness.report.loadtest)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.compare.runs import RunData
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, Spread, spread
from harness.report import loadtest as lt
from harness.report.common import (
    cell_text,
    change_text,
    fmt_mib,
    fmt_pct,
    fmt_s,
    fmt_spread,
    size_label,
)
from harness.report.plots import Plot, concurrency_plots, soak_plot

DASH = "-"
LEAK_TEXT = "growth above 1 MiB per task"
"""What the soak phase's leak flag means (harness.run.soak.LEAK_KIB_PER_TASK)."""


@dataclass
class LoadView:
    """The load-test sections, formatted; an empty list is a section not measured."""

    machine: str
    sweep_summary: list[str] = field(default_factory=list)
    sweep_rows: list[dict[str, Any]] = field(default_factory=list)
    sweep_verdicts: list[dict[str, Any]] = field(default_factory=list)
    sweep_plots: list[Plot] = field(default_factory=list)
    min_worker: list[dict[str, Any]] = field(default_factory=list)
    soak: list[dict[str, Any]] = field(default_factory=list)
    soak_plots: list[Plot] = field(default_factory=list)
    debug_summary: list[dict[str, Any]] = field(default_factory=list)
    debug: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    leak_text: str = LEAK_TEXT

    @property
    def plots(self) -> list[Plot]:
        """The figures of these sections (written beside report.md)."""
        return self.sweep_plots + self.soak_plots

    @property
    def missing(self) -> list[str]:
        """The sections this run did not measure."""
        sections = (
            ("the concurrency sweep", self.sweep_rows),
            ("the smallest worker", self.min_worker),
            ("the leak check (soak)", self.soak),
            ("debug mode checked", self.debug),
            ("memory-optimised imports across Cosmos versions", self.versions),
        )
        return [name for name, rows in sections if not rows]


def _opt(sp: Spread | None, unit: str) -> str:
    return fmt_spread(sp, unit) if sp else "failed"


def _machine(info: dict[str, Any]) -> str:
    m = info.get("machine") or {}
    cores = lt.machine_cores(info)
    return (
        f"{m.get('node', '?')}: {cores if cores is not None else '?'} logical cores, "
        f"{m.get('cpu', '?')}"
    )


def _sweep_verdict(w: lt.Sweep) -> str:
    top = w.points[-1].concurrency
    if w.stops_after is None:
        return f"still paying at {top}, the highest measured"
    nxt = w.next_concurrency
    if w.next_ratio is None:
        return f"beyond {w.stops_after}: every repetition at {nxt} failed"
    return (
        f"beyond {w.stops_after}: from {w.stops_after} to {nxt} the median wall time changes "
        f"by {fmt_pct(w.next_ratio)}"
    )


def _sweep_section(view: LoadView, sweeps: list[lt.Sweep], cores: int | None) -> None:
    for w in sweeps:
        prev: lt.SweepPoint | None = None
        for p in w.points:
            step = ""
            if prev is not None and prev.time and p.time:
                step = fmt_pct(p.time.median / prev.time.median)
            view.sweep_rows.append(
                {
                    "size": size_label(w.size),
                    "configuration": w.label,
                    "concurrency": p.concurrency,
                    "n": f"{p.n_ok}/{p.n}",
                    "time": _opt(p.time, "s"),
                    "step": step,
                    "dag_run_s": fmt_s(p.dag_run_s.median) if p.dag_run_s else DASH,
                    "memory": _opt(p.memory, "bytes"),
                    "slots": _opt(p.slots, "s") if p.time else "failed",
                    "knee": p.concurrency == w.stops_after,
                }
            )
            prev = p
        knee = next((p for p in w.points if p.concurrency == w.stops_after), None)
        view.sweep_verdicts.append(
            {
                "size": size_label(w.size),
                "configuration": w.label,
                "verdict": _sweep_verdict(w),
                "memory": fmt_mib(knee.memory.median) if knee and knee.memory else DASH,
            }
        )
    stops = Counter(w.stops_after for w in sweeps)
    parts = [
        f"beyond {c} in {n}" if c is not None else f"never (still paying) in {n}"
        for c, n in sorted(stops.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]
    view.sweep_summary = [
        f"Measured on {view.machine}. More concurrency stops paying at the smallest value "
        f"beyond which the next one measured improves the median wall time by less than "
        f"{lt.MIN_GAIN:.0%}, worsens it or fails.",
        f"Of {len(sweeps)} configurations, more concurrency stops paying "
        + ", ".join(parts)
        + (f"; this machine has {cores} logical cores." if cores else "."),
    ]
    view.sweep_plots = concurrency_plots(sweeps, cores)


def _mib(value: float | None) -> str:
    return f"{value:.0f} MiB" if value is not None else DASH


def _probe_text(p: lt.Probe) -> str:
    limit = "no limit" if p.limit_mib is None else f"{p.limit_mib:.0f} MiB"
    peak = f", peak {p.peak_mib:.0f} MiB" if p.peak_mib is not None else ""
    wall = f", {fmt_s(p.wall_s)}" if p.wall_s is not None else ""
    return f"{limit}: {p.status}{peak}{wall}"


def _min_worker_row(m: lt.MinWorker) -> dict[str, Any]:
    a = m.axes
    found = m.min_limit_mib is not None and m.status == "ok"
    if m.converged is False:
        converged = f" (not within {lt.MIN_WORKER_PRECISION:.0%}: the bisection's steps ran out)"
    else:
        converged = ""
    ratio = (
        f"x{m.min_limit_mib / m.unlimited_peak_mib:.2f}"
        if found and m.min_limit_mib and m.unlimited_peak_mib
        else DASH
    )
    return {
        "size": size_label(m.size),
        "execution_mode": a.get("execution_mode", DASH),
        "invocation": a.get("execution_invocation", DASH),
        "load_mode": a.get("load_mode", DASH),
        "concurrency": a.get("concurrency", DASH),
        "other": m.other,
        "status": m.status,
        "min_limit": _mib(m.min_limit_mib) if found else f"not found ({m.status})",
        "interval": (
            f"fails at {_mib(m.max_failing_limit_mib)}: known to within "
            f"{(m.precision or 0):.1%}{converged}"
            if found
            else (m.reason or "")
        ),
        "unlimited_peak": _mib(m.unlimited_peak_mib),
        "ratio": ratio,
        "probes": [_probe_text(p) for p in m.probes],
        "scenario_id": m.scenario_id,
    }


def _kib(value: Any) -> str:
    return f"{value:+.0f} KiB" if isinstance(value, int | float) else DASH


def _soak_row(k: lt.Soak) -> dict[str, Any]:
    f = k.figures
    ci = f.get("growth_ci95_kib")
    ci_text = (
        f" (95% CI {ci[0]:+.0f}..{ci[1]:+.0f})"
        if isinstance(ci, list) and len(ci) == 2 and all(isinstance(x, int | float) for x in ci)
        else ""
    )
    r2 = f.get("growth_r2")
    rss = [f.get(key) for key in ("baseline_rss_mib", "first_task_rss_mib", "last_rss_mib")]
    task_s = f.get("task_s_median")
    return {
        "size": size_label(k.size),
        "configuration": k.label,
        "status": k.status,
        "tasks": f"{f.get('tasks', DASH)}/{f.get('tasks_planned', DASH)}",
        "warmup": k.warmup,
        "growth": _kib(k.growth_kib) + ci_text,
        "theil_sen": _kib(f.get("growth_theil_sen_kib")),
        "second_half": _kib(f.get("growth_second_half_kib")),
        "r2": f"{r2:.2f}" if isinstance(r2, int | float) else DASH,
        "rss": " -> ".join(f"{v:.0f}" if isinstance(v, int | float) else "?" for v in rss) + " MiB",
        "task_s": fmt_s(float(task_s)) if isinstance(task_s, int | float) else DASH,
        "leak": {True: "LEAK", False: "no", None: "?"}[k.leak],
        "reason": k.reason or "",
        "scenario_id": k.scenario_id,
    }


def _error_range(errors: tuple[float, ...]) -> str:
    """Errors as percent: the median, and the range over several values."""
    mid = fmt_pct(1.0 + statistics.median(errors))
    if len(errors) == 1:
        return f"{mid} (n=1)"
    return f"{mid} ({fmt_pct(1.0 + min(errors))}..{fmt_pct(1.0 + max(errors))}, n={len(errors)})"


def _poll(poll_s: float | None) -> str:
    return f"{poll_s:g} s" if poll_s is not None else "not recorded"


def _debug_sections(view: LoadView, scenarios: dict[str, ScenarioSamples]) -> None:
    pairs = lt.debug_pairs(scenarios)
    checks = lt.debug_checks(scenarios, pairs)
    for s in lt.poll_summaries(checks, pairs):
        view.debug_summary.append(
            {
                "poll": _poll(s.poll_s),
                "scenarios": s.scenarios,
                "error": _error_range(s.errors),
                "time": cell_text("time", s.time) if s.time else "no twin without debug mode",
                "memory": cell_text("memory", s.memory) if s.memory else DASH,
            }
        )
    for c in checks:
        cost = c.overhead.changes if c.overhead else {}
        view.debug.append(
            {
                "scenario_id": c.scenario_id,
                "phase": c.phase,
                "poll": _poll(c.poll_s),
                "repetitions": c.repetitions,
                "tasks": c.tasks,
                "cosmos_max": f"{c.cosmos_mib:.0f} MiB",
                "measured": fmt_mib(c.measured),
                "error": _error_range(c.errors),
                "cost": [change_text(m, cost[m]) for m in ("time", "memory") if m in cost],
            }
        )


def _change_cell(c: Change | None) -> str:
    """ "+3% (CI -1%..+6%), not significant": flag on against off."""
    if c is None:
        return DASH
    ci = ""
    if c.ci_low is not None and c.ci_high is not None:
        ci = f" (CI {fmt_pct(c.ci_low)}..{fmt_pct(c.ci_high)})"
    sig = {True: "significant", False: "not significant", None: "n=1"}[c.significant]
    return f"{fmt_pct(c.ratio)}{ci}, {sig}"


def _side(s: ScenarioSamples | None, metric: str) -> str:
    values = s.values.get(metric) if s else None
    if not values:
        return "not measured" if s is None else "failed"
    unit = "bytes" if metric == "memory" else "s"
    return fmt_spread(spread(values), unit)


def _version_rows(view: LoadView, rows: list[lt.VersionRow], locked: str) -> None:
    for v in rows:
        view.versions.append(
            {
                "phase": v.phase,
                "size": size_label(v.size),
                "version": v.version or f"{locked} (locked)",
                "other": v.label,
                "memory_off": _side(v.off, "memory"),
                "memory_on": _side(v.on, "memory"),
                "memory_change": _change_cell(v.memory),
                "time_off": _side(v.off, "time"),
                "time_on": _side(v.on, "time"),
                "time_change": _change_cell(v.time),
            }
        )


def load_view(run: RunData, scenarios: dict[str, ScenarioSamples]) -> LoadView:
    """Every load-test section of ``run`` (``scenarios``: its records grouped)."""
    view = LoadView(machine=_machine(run.info))
    sweeps = lt.concurrency_sweeps(scenarios)
    if sweeps:
        _sweep_section(view, sweeps, lt.machine_cores(run.info))
    view.min_worker = [_min_worker_row(m) for m in lt.min_workers(scenarios)]
    runs = lt.soaks(scenarios)
    view.soak = [_soak_row(k) for k in runs]
    view.soak_plots = soak_plot(runs)
    _debug_sections(view, scenarios)
    locked = str((run.info.get("versions") or {}).get("astronomer-cosmos") or "locked")
    _version_rows(view, lt.version_rows(scenarios), locked)
    return view
