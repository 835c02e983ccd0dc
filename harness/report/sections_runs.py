"""The sections of a report of several runs: the source runs with the records each one
has superseded or shares (harness.store.current's choice), and the environment of each
run side by side."""

from __future__ import annotations

import statistics
from collections import Counter

from harness.report.runs import Sources
from harness.report.sections_run import environment_rows
from harness.report.view import Section, Table, cell
from harness.store.current import REPRODUCED, headline_mib

DASH = "-"
RULE = (
    "Where a scenario was measured in more than one of these runs, one answer is used "
    "(harness.store.current): the newest run that measured it successfully is the "
    "reference (a bisection that converged before one that did not); an older run's figure "
    f"within {REPRODUCED:.0%} of the reference's is pooled with it (reproduced: both runs' "
    "repetitions are used); one further apart, or one that failed, is superseded and left "
    "out of every other section of this report. A run's figure is the median over its "
    "repetitions of the record's headline: a bisection's smallest limit, a Celery run's "
    "largest worker, else the peak of the measured tree."
)


def scenarios_text(n: int) -> str:
    """The count of scenarios in words: 1 scenario, 2 scenarios."""
    return f"{n} scenario{'' if n == 1 else 's'}"


def _mib(value: float | None) -> str:
    return f"{value:.0f} MiB" if value is not None else "no figure (failed)"


def _runs_table(sources: Sources) -> Table:
    used = Counter(sources.run_of(r).run_id for r in sources.current.records)
    superseded = Counter(s.run_id for s in sources.current.superseded)
    table = Table(
        ["run", "started", "finished", "state", "scenario file", "records", "used",
         "scenarios superseded"],
        id="source-runs",
    )  # fmt: skip
    for run in sources.runs:
        table.add(
            cell(run.run_id, code=True),
            run.info.started_at or "?",
            run.info.finished_at or DASH,
            run.info.state or "unknown",
            run.info.scenario_file or "?",
            len(run.records),
            used[run.run_id],
            superseded[run.run_id],
        )
    return table


def _superseded_table(sources: Sources) -> Table:
    table = Table(
        ["run", "scenario", "its figure", "superseded by", "its figure", "why"], id="superseded"
    )
    for s in sources.current.superseded:
        table.add(
            cell(s.run_id, code=True),
            cell(s.scenario_id, code=True),
            _mib(s.figure_mib),
            cell(s.by_run_id, code=True),
            cell(_mib(s.by_figure_mib), strong=True),
            s.why,
        )
    return table


def _pooled_table(sources: Sources) -> Table:
    figures: dict[tuple[str, str], list[float]] = {}
    for r in sources.current.records:
        value = headline_mib(r)
        if value is not None:
            figures.setdefault((r.scenario_id, sources.run_of(r).run_id), []).append(value)
    table = Table(["scenario", "runs pooled", "figure in each run"], id="pooled")
    for sid, run_ids in sources.current.pooled.items():
        each = []
        for run_id in run_ids:
            values = figures.get((sid, run_id))
            each.append(f"{run_id}: {_mib(statistics.median(values)) if values else 'failed'}")
        table.add(cell(sid, code=True), len(run_ids), cell(each))
    return table


def runs_section(sources: Sources) -> Section:
    """The source runs, the records superseded (which, by what, why) and the scenarios
    pooled across runs."""
    current = sources.current
    section = Section(
        "Runs and superseded records",
        id="runs-section",
        intro=[
            f"This report reads {len(sources.runs)} runs, oldest first: "
            + ", ".join(f"`{r.run_id}`" for r in sources.runs)
            + ".",
            RULE,
        ],
        tables=[_runs_table(sources)],
    )
    if current.superseded:
        section.children.append(
            Section(
                "Superseded records",
                level=3,
                id="superseded-section",
                intro=[
                    f"{len(current.superseded)} left out, each a scenario's records in one "
                    "run: the run that supersedes them, its figure, and why."
                ],
                tables=[_superseded_table(sources)],
            )
        )
    else:
        section.intro.append("No record is superseded.")
    if current.pooled:
        section.children.append(
            Section(
                "Scenarios pooled across runs",
                level=3,
                id="pooled-section",
                intro=[
                    f"{scenarios_text(len(current.pooled))}, their figures within {REPRODUCED:.0%} "
                    "of each other (reproduced) or failed in every run: every run's "
                    "repetitions are used together."
                ],
                tables=[_pooled_table(sources)],
            )
        )
    else:
        section.intro.append("No scenario is pooled across runs.")
    return section


def environments_section(sources: Sources) -> Section:
    """Where and on what each source run was measured, one column per run."""
    runs = sources.runs
    env = Table(["", *(r.run_id for r in runs)], id="environment")
    columns = [dict(environment_rows(r)) for r in runs]
    for what in dict.fromkeys(what for col in columns for what in col):
        env.add(what, *(col.get(what, DASH) for col in columns))
    versions = Table(["package", *(r.run_id for r in runs)], id="versions")
    packages = sorted({k for r in runs for k in r.info.versions})
    for k in packages:
        versions.add(k, *(str(r.info.versions.get(k, DASH)) for r in runs))
    return Section(
        "Environment",
        id="environment-section",
        intro=["Each source run's own, one column per run (its time: all its repetitions, "
               "superseded ones included)."],
        tables=[env, versions],
    )  # fmt: skip
