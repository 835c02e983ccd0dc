"""The first screen: for each project size measured, the settings to use and how big
the DAG processor's parse, one task and the worker will be, with what was not measured.

The picks are the recommendations' (harness.report.recommend: every repetition
succeeded, ties named); the worker's peak is fitted over the measured concurrencies of
the picked configuration as a base plus MiB per slot (least squares, 95% interval).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from harness.compare.samples import ScenarioSamples
from harness.registry.names import DAG_RUN, PARSE, TASK
from harness.report import minworker as mw
from harness.report.common import (
    MIB,
    axes_key,
    fmt_mib,
    on_celery,
    size_label,
    sorted_sizes,
    successful,
    without_celery,
)
from harness.report.recommend import Candidate, Recommendation, recommend, ties
from harness.report.view import Cell, Section, Table, cell

FIT_DROP = ("concurrency", "worker_limit_mib")
"""Axes the worker fit varies over (the rest of the configuration held fixed)."""


@dataclass(frozen=True)
class SlotFit:
    """Peak of a whole DAG run = base + per_slot x concurrency, over every ok repetition."""

    base_mib: float
    per_slot_mib: float
    per_slot_ci: tuple[float, float]
    concurrencies: tuple[int, ...]
    n: int


def fit_slots(points: list[tuple[int, float]]) -> SlotFit | None:
    """Least-squares line of peak MiB against concurrency; None with fewer than two
    concurrencies or three points."""
    concurrencies = tuple(sorted({c for c, _ in points}))
    if len(concurrencies) < 2 or len(points) < 3:
        return None
    from scipy.stats import linregress, t  # here: importing the report must not load scipy

    res = linregress([c for c, _ in points], [m for _, m in points])
    half = float(t.ppf(0.975, len(points) - 2)) * float(res.stderr)
    slope = float(res.slope)
    return SlotFit(
        float(res.intercept), slope, (slope - half, slope + half), concurrencies, len(points)
    )


def _worker_points(
    scenarios: dict[str, ScenarioSamples], pick: Candidate, size: int | str | None
) -> list[tuple[int, float]]:
    key = axes_key(pick.config, FIT_DROP)
    return [
        (int(s.axes["concurrency"]), v / MIB)
        for s in scenarios.values()
        if s.phase == DAG_RUN
        and s.size == size
        and successful(s)
        and s.axes.get("concurrency")
        and axes_key(s.config, FIT_DROP) == key
        for v in s.values["memory"]
    ]


def _worker_text(scenarios: dict[str, ScenarioSamples], rec: Recommendation) -> list[str]:
    pick = rec.lowest_memory
    points = _worker_points(scenarios, pick, rec.size)
    fit = fit_slots(points)
    if fit is None:
        c = pick.config.get("concurrency", "?")
        return [
            f"{fmt_mib(pick.memory)} at concurrency {c} (one concurrency measured: no per-slot fit)"
        ]
    lo, hi = fit.per_slot_ci
    lines = [
        f"{fit.base_mib:.0f} MiB + {fit.per_slot_mib:.0f} MiB per slot "
        f"(95% CI {lo:.0f}..{hi:.0f}; {fit.n} runs)"
    ]
    lines += [
        f"concurrency {c}: {fit.base_mib + fit.per_slot_mib * c:.0f} MiB "
        f"(measured {statistics.median(m for k, m in points if k == c):.0f})"
        for c in fit.concurrencies
    ]
    return lines


def _pick_text(rec: Recommendation | None, what: str) -> list[str]:
    if rec is None:
        return []
    pick = rec.lowest_memory
    tied = ties(pick, list(rec.pool), "memory")
    text = f"{what}: {pick.label}"
    if tied:
        others = "another" if len(tied) == 1 else f"any of {len(tied)} others"
        text += f" (or {others} within the noise)"
    return [text]


def _peak_text(rec: Recommendation | None) -> list[str]:
    if rec is None:
        return ["not measured"]
    top = max(c.memory for c in rec.pool)
    spread = (
        f"; up to {fmt_mib(top)} over {rec.candidates} configurations" if rec.candidates > 1 else ""
    )
    return [f"{fmt_mib(rec.lowest_memory.memory)}{spread}"]


def _smallest_worker(workers: list[mw.MinWorker], size: int | str | None) -> list[str]:
    out = []
    for m in workers:
        if m.size != size:
            continue
        a = m.axes
        what = (
            f"{a.get('execution_mode')}, {a.get('execution_invocation')}, concurrency "
            f"{a.get('concurrency')}"
        )
        if on_celery(a):  # the limit of each Celery worker, not of the whole run
            what += f", each Celery worker at worker_concurrency {a.get('worker_concurrency')}"
        found = m.status == "ok" and m.min_limit_mib is not None
        out.append(f"{what}: {m.min_limit_mib:.0f} MiB" if found else f"{what}: not found")
    return out


def _row(
    scenarios: dict[str, ScenarioSamples],
    recs: dict[str, dict[int | str | None, Recommendation]],
    workers: list[mw.MinWorker],
    size: int | str | None,
) -> list[Cell]:
    """One size of the answer table."""
    parse, task, run = (recs[p].get(size) for p in (PARSE, TASK, DAG_RUN))
    pairs = (("DAG parse", parse), ("one task", task), ("whole DAG run", run))
    missing = [name for name, r in pairs if r is None]
    worker = _worker_text(scenarios, run) if run else ["not measured"]
    if run and len(worker) == 1:
        missing.append("more than one concurrency")
    smallest = _smallest_worker(workers, size)
    if not smallest:
        missing.append("smallest worker")
    settings = [*_pick_text(run, "run"), *_pick_text(task, "task"), *_pick_text(parse, "parse")]
    if not settings and smallest:
        settings = ["see the smallest worker measured (Celery: the workers section)"]
    return [
        cell(size_label(size)),
        cell(settings, strong=True),
        cell(_peak_text(parse)),
        cell(_peak_text(task)),
        cell(worker),
        cell(smallest or ["not measured"]),
        cell(", ".join(missing) or "-"),
    ]


def summary_section(scenarios: dict[str, ScenarioSamples]) -> Section:
    """The answer first: settings and expected peaks for each size measured."""
    # The workers section sizes Celery workers; only their smallest size is listed here.
    local = without_celery(scenarios)
    recs = {phase: {r.size: r for r in recommend(local, phase)} for phase in (PARSE, TASK, DAG_RUN)}
    workers = mw.min_workers(scenarios)
    sizes = [
        s
        for s in sorted_sizes(
            [*(size for by in recs.values() for size in by), *(m.size for m in workers)]
        )
        if s is not None
    ]
    table = Table(
        [
            "size",
            "settings to use",
            "DAG processor: parse",
            "one task",
            "worker: whole DAG run",
            "smallest worker (min_worker)",
            "not measured",
        ],
        id="answer",
    )
    for size in sizes:
        table.rows.append(_row(local, recs, workers, size))
    intro = (
        "What to use and how big it gets, per project size: the configuration with the lowest "
        "peak memory among those whose every repetition succeeded (the recommendations below), "
        "its peak (the median over repetitions), and the worker's peak fitted over the "
        "concurrencies measured."
    )
    notes = [] if table.rows else ["No project size measured in this run."]
    return Section(
        "The answer: settings and sizes",
        id="answer-section",
        intro=[intro],
        tables=[table] if table.rows else [],
        notes=notes + busy_notes(scenarios),
    )


def busy_notes(scenarios: dict[str, ScenarioSamples]) -> list[str]:
    """What the report must say about measurements made on a busy machine."""
    measured = [r for s in scenarios.values() for r in s.records if r.measure is not None]
    loads = [r.measure.load for r in measured if r.measure and r.measure.load is not None]
    busy = [r for r in measured if r.measure and r.measure.load and r.measure.load.busy]
    if not loads:
        return ["The machine's load was not recorded in this run (records before schema 2)."]
    if not busy:
        return [f"All {len(loads)} measurements ran on a quiet machine (harness.measure.load)."]
    ids = sorted({r.scenario_id for r in busy})
    return [
        f"{len(busy)} of {len(loads)} measurements ran on a busy machine (other processes used "
        "more than half a core on average, or the hypervisor stole more than 5%): their times "
        f"are upper bounds and their verdicts less sure. Scenarios: {', '.join(ids[:10])}"
        + (f" and {len(ids) - 10} more." if len(ids) > 10 else ".")
    ]
