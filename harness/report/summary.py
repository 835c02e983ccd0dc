"""The first screen: for each project size measured, one configuration to deploy and
how big the DAG processor's parse, one task and the worker will be under it, with what
was not measured together with it.

The configuration is harness.verdicts.deploy's (one set of settings, the same in every
phase; every repetition succeeded; ties named, "untested against each other" where
measured once); the worker's peak is fitted over the measured concurrencies of the
configuration as a base plus MiB per slot (least squares, 95% interval).
"""

from __future__ import annotations

from harness.compare.configs import fmt_axis, on_celery, size_label, sorted_sizes, without_celery
from harness.compare.format import fmt_mib
from harness.compare.samples import ScenarioSamples
from harness.registry.names import DAG_RUN, PARSE, TASK
from harness.registry.values import AxisValues
from harness.report.view import Section, Table, TableCell, cell
from harness.verdicts import minworker as mw
from harness.verdicts.deploy import (
    DEPLOYMENT,
    NEAR_SHARE,
    PHASE_NAMES,
    Deployable,
    Part,
    answer,
    settings_text,
)
from harness.verdicts.worker_fit import worker_lines


def _settings_lines(d: Deployable) -> list[str]:
    lines = [settings_text(d.settings)]
    if d.tied:
        others = "another" if len(d.tied) == 1 else f"any of {len(d.tied)} others"
        lines.append(f"(or {others}: {d.tie}, by the {PHASE_NAMES[d.anchor]}'s peak)")
    return lines


def _part_lines(part: Part | None) -> list[str]:
    """A phase's peak under the configuration, what qualifies it, the phase's spread."""
    if part is None or part.candidate is None:
        return ["not measured"]
    c = part.candidate
    cond = ", ".join(fmt_axis(k, v) for k, v in part.conditions.items())
    lines = [fmt_mib(c.memory) + (f" ({cond})" if cond else "")]
    lines += [f"{fmt_mib(mem)} ({what})" for what, mem in part.under]
    if part.differs:
        what = ", ".join(fmt_axis(k, have) for k, (_, have) in part.differs.items())
        lines.append(f"not measured together: this is with {what}")
    if part.facts is not None:
        lines += part.facts.notes()
    n, top = part.spread
    if n > 1:
        lines.append(f"up to {fmt_mib(top)} over {n} configurations")
    return lines


def _smallest_worker(workers: list[mw.MinWorker], size: int | str | None) -> list[str]:
    out = []
    for m in workers:
        if m.size != size:
            continue
        a = AxisValues.of(m.axes)
        what = (
            f"{a.execution_mode}, {a.execution_invocation}, concurrency {a.concurrency}"
        )
        if on_celery(m.axes):  # the limit of each Celery worker, not of the whole run
            what += f", each Celery worker at worker_concurrency {a.worker_concurrency}"
        found = m.status == "ok" and m.min_limit_mib is not None
        out.append(f"{what}: {m.min_limit_mib:.0f} MiB" if found else f"{what}: not found")
    return out


def _row(
    scenarios: dict[str, ScenarioSamples], d: Deployable, workers: list[mw.MinWorker]
) -> list[TableCell]:
    """One size of the answer table, rendered from its Deployable."""
    run = d.parts.get(DAG_RUN)
    worker = worker_lines(scenarios, run, d.size)
    missing = d.apart()
    if run and run.candidate and len(worker) == 1:
        missing.append("more than one concurrency")
    smallest = _smallest_worker(workers, d.size)
    if not smallest:
        missing.append("smallest worker")
    return [
        cell(size_label(d.size)),
        cell(d.deployment),
        cell(_settings_lines(d), strong=True),
        cell(_part_lines(d.parts.get(PARSE))),
        cell(_part_lines(d.parts.get(TASK))),
        cell(worker),
        cell(smallest or ["not measured"]),
        cell(missing or "-"),
    ]


ANSWER_INTRO = (
    "What to deploy and how big it gets, per project size: one configuration, the same "
    "settings in every phase, chosen on the heaviest phase measured (the whole DAG run, "
    "else one task) as the lowest peak memory among those whose every repetition "
    "succeeded (or one it cannot be told from, under which more phases were measured with "
    "the same settings); each phase's peak (the median over repetitions) under it, and the "
    "worker's peak fitted over the concurrencies measured. The conditions a figure was "
    "measured under (the dbt ls cache, the partial-parse state dbt met) are shown beside "
    "it, in brackets: they are not settings. A phase measured only with other settings is "
    "named in the last column. The parse is ranked by Airflow's limits first (a parse "
    f"within {NEAR_SHARE:.0%} of dagbag_import_timeout is flagged), by fidelity second "
    "(CUSTOM and DBT_LS_FILE do not render dbt's own graph of the project), memory last."
)


def summary_section(
    scenarios: dict[str, ScenarioSamples], deployables: list[Deployable] | None = None
) -> Section:
    """The answer first: one configuration and its peaks for each size measured
    (``deployables``: harness.verdicts.deploy.answer of ``scenarios``, computed once)."""
    answers = deployables if deployables is not None else answer(scenarios)
    local = without_celery(scenarios)
    workers = mw.min_workers(scenarios)
    by_size = {d.size: d for d in answers}
    table = Table(
        [
            "size",
            "deployment",
            "settings to use",
            "DAG processor: parse",
            "one task",
            "worker: whole DAG run",
            "smallest worker (min_worker)",
            "not measured together",
        ],
        id="answer",
    )
    for size in sorted_sizes([*by_size, *(m.size for m in workers)]):
        if size is None:
            continue
        d = by_size.get(size) or Deployable(size, DEPLOYMENT, {}, {}, DAG_RUN)
        table.rows.append(_row(local, d, workers))
    notes = [] if table.rows else ["No project size measured in this run."]
    return Section(
        "The answer: settings and sizes",
        id="answer-section",
        intro=[ANSWER_INTRO],
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
        return [
            f"All {len(loads)} measurements ran on a quiet machine "
            "(harness.measure.machine_load)."
        ]
    ids = sorted({r.scenario_id for r in busy})
    return [
        f"{len(busy)} of {len(loads)} measurements ran on a busy machine (other processes used "
        "more than half a core on average, or the hypervisor stole more than 5%): their times "
        f"are upper bounds and their verdicts less sure. Scenarios: {', '.join(ids[:10])}"
        + (f" and {len(ids) - 10} more." if len(ids) > 10 else ".")
    ]
