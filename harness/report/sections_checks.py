"""The report's checks of Cosmos's own claims under load: debug mode's memory figure
against the measured peak, and memory-optimised imports across Cosmos releases; and
the load-test section that gathers them with the sweep, smallest worker and leak check."""

from __future__ import annotations

import statistics

from harness.compare.configs import on_celery, size_label
from harness.compare.format import fmt_mib
from harness.compare.runs import RunData
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, spread
from harness.report.sections_load import (
    DASH,
    machine_text,
    min_worker_section,
    soak_section,
    sweep_section,
)
from harness.report.text import change_text, fmt_pct, fmt_spread, over_pairs_text
from harness.report.view import Section, Table, cell
from harness.verdicts import debugcheck as dc
from harness.verdicts import minworker as mw
from harness.verdicts import soak as sk
from harness.verdicts import sweep as sw
from harness.verdicts import versions as vs


def _error_range(errors: tuple[float, ...]) -> str:
    """Errors as percent: the median, and the range over several values."""
    mid = fmt_pct(1.0 + statistics.median(errors))
    if len(errors) == 1:
        return f"{mid} (n=1)"
    return f"{mid} ({fmt_pct(1.0 + min(errors))}..{fmt_pct(1.0 + max(errors))}, n={len(errors)})"


def _poll(poll_s: float | None) -> str:
    return f"{poll_s:g} s" if poll_s is not None else "not recorded"


def _debug_detail(checks: list[dc.DebugCheck]) -> Table:
    """One row per task scenario with Cosmos's debug figure."""
    detail = Table(
        [
            "scenario",
            "phase",
            "poll interval",
            "repetitions",
            "tasks reporting",
            "Cosmos's largest figure (median)",
            "measured peak of the tree (median)",
            "error",
            "against debug mode off",
        ],
        id="debug",
    )
    for c in checks:
        cost = c.overhead.changes if c.overhead else {}
        detail.rows.append(
            [
                cell(c.scenario_id, code=True),
                cell(c.phase),
                cell(_poll(c.poll_s)),
                cell(c.repetitions),
                cell(c.tasks),
                cell(f"{c.cosmos_mib:.0f} MiB"),
                cell(fmt_mib(c.measured)),
                cell(_error_range(c.errors)),
                cell([change_text(m, cost[m]) for m in ("time", "memory") if m in cost]),
            ]
        )
    return detail


def debug_section(scenarios: dict[str, ScenarioSamples]) -> Section | None:
    """Cosmos's debug figure against the measured peak, and what debug mode costs."""
    pairs = dc.debug_pairs(scenarios)
    checks = dc.debug_checks(scenarios, pairs)
    if not checks:
        return None
    summary = Table(
        [
            "poll interval",
            "task scenarios",
            "error of Cosmos's figure (median, range)",
            "time debug mode adds",
            "memory debug mode adds",
        ],
        id="debug-summary",
    )
    for s in dc.poll_summaries(checks, pairs):
        summary.add(
            _poll(s.poll_s),
            s.scenarios,
            _error_range(s.errors),
            over_pairs_text("time", s.time) if s.time else "no twin without debug mode",
            over_pairs_text("memory", s.memory) if s.memory else DASH,
        )
    detail = _debug_detail(checks)
    return Section(
        "Debug mode checked: its own figure against the measured peak",
        level=3,
        id="debug-section",
        intro=[
            "Cosmos's debug mode sums the RSS of the task's processes every poll interval and "
            "reports the largest sum (`cosmos_debug_max_memory_mb`, in MiB); the harness "
            "measures the peak of the same process tree at one moment (cgroup). Error: Cosmos's "
            "figure / the harness's peak - 1. Cost: the same scenario against its twin with "
            "debug mode off."
        ],
        tables=[summary, detail] if summary.rows else [detail],
        notes=[
            "In a dag_run the measured peak is the whole run's (every task, the scheduler and "
            "the CLI), so there the error is Cosmos's largest task against the whole run, not "
            "one task's error."
        ],
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
    return fmt_spread(spread(values), "bytes" if metric == "memory" else "s")


def versions_section(rows: list[vs.VersionRow], locked: str) -> Section | None:
    """The flag off and on in each Cosmos release measured."""
    if not rows:
        return None
    table = Table(
        [
            "phase",
            "size",
            "Cosmos",
            "other options",
            "peak memory, off",
            "peak memory, on",
            "change",
            "time, off",
            "time, on",
            "change",
        ],
        id="cosmos-versions",
    )
    for v in rows:
        table.add(
            v.phase,
            size_label(v.size),
            v.version or f"{locked} (locked)",
            v.label,
            _side(v.off, "memory"),
            _side(v.on, "memory"),
            cell(_change_cell(v.memory), strong=True),
            _side(v.off, "time"),
            _side(v.on, "time"),
            _change_cell(v.time),
        )
    return Section(
        "Memory-optimised imports across Cosmos versions",
        level=3,
        id="versions-section",
        intro=[
            "`enable_memory_optimised_imports` off and on in each Cosmos release measured: "
            "since 1.14 Cosmos's `__init__` is lazy and the flag is read but unused; up to 1.13 "
            "it gated the eager imports. Medians with the interquartile range; change: on / off."
        ],
        tables=[table],
    )


def load_section(run: RunData, scenarios: dict[str, ScenarioSamples]) -> Section:
    """Every load-test section of ``run``; the ones it did not measure listed."""
    locked = run.info.versions.get("astronomer-cosmos") or "locked"
    sweeps = sw.concurrency_sweeps(scenarios)
    # Celery workers' bisections size one worker node: the Celery section shows them.
    workers = mw.min_workers(scenarios, keep=lambda config: not on_celery(config))
    soaks = sk.soaks(scenarios)
    parts = {
        "the concurrency sweep": sweep_section(
            sweeps, machine_text(run.info), sw.machine_cores(run.info)
        )
        if sweeps
        else None,
        "the smallest worker": min_worker_section(workers) if workers else None,
        "the leak check (soak)": soak_section(soaks) if soaks else None,
        "debug mode checked": debug_section(scenarios),
        "memory-optimised imports across Cosmos versions": versions_section(
            vs.version_rows(scenarios), locked
        ),
    }
    missing = [name for name, s in parts.items() if s is None]
    where = "these runs" if run.info.sources else "this run"  # several: report.runs
    return Section(
        "Load test",
        id="load-test",
        intro=[f"Not measured in {where}: {', '.join(missing)}."] if missing else [],
        children=[s for s in parts.values() if s is not None],
    )
