"""The report's sections on the run as a whole: Cosmos's cost over plain `dbt build`,
the parse against Airflow's limits, figures, the comparison with a baseline and the
environment (the recommendations: harness.report.sections_recommend)."""

from __future__ import annotations

from harness.compare.configs import size_label
from harness.compare.diff import REGRESSION, Comparison
from harness.compare.format import fmt_mib, header_lines, metric_cell, summary_line
from harness.compare.runs import RunData
from harness.compare.samples import METRICS, ScenarioSamples
from harness.measure.speed import mixed
from harness.report.plots import Plot
from harness.report.text import fmt_s
from harness.report.view import Section, Table, cell
from harness.store.runinfo import Commit, Machine, RunInfo
from harness.verdicts.failures import Failure
from harness.verdicts.overhead import phase_times
from harness.verdicts.parselimits import ParseMargin, parse_margins
from harness.verdicts.recommend import cosmos_cost

DASH = "-"
def cost_section(scenarios: dict[str, ScenarioSamples]) -> Section:
    """Each execution mode's dag_run against plain `dbt build` of the same project."""
    section = Section("Cosmos's cost over plain `dbt build`", id="cost-section")
    costs = cosmos_cost(scenarios)
    if not costs:
        section.intro.append(
            "Not measured: the run needs dag_run and dbt_baseline measurements of the same project."
        )
        return section

    def rng(pair: tuple[float, float]) -> str:
        lo, hi = pair
        return f"x{lo:.2f}" if abs(hi - lo) < 0.005 else f"x{lo:.2f}-x{hi:.2f}"

    table = Table(
        [
            "size",
            "execution mode",
            "configurations",
            "dbt build",
            "dag_run time",
            "dag_run peak memory",
        ],
        id="cost",
    )
    for c in costs:
        table.add(
            size_label(c.size),
            c.execution_mode,
            c.configurations,
            f"{fmt_s(c.dbt_time)}, {fmt_mib(c.dbt_memory)} (threads {c.dbt_threads})",
            rng(c.time_ratios),
            rng(c.memory_ratios),
        )
    section.tables.append(table)
    section.notes.append(
        "Ratios of the dag_run medians to the dbt build median of the same project "
        "(lowest-highest over the configurations of the mode)."
    )
    return section


SHOWN_CLOSEST = 5
"""Rows of the parse-limits table when no parse was flagged: the closest ones."""


def _limits_text(m: ParseMargin) -> list[str]:
    return [f"{name} {m.limits.get(name, 0):.0f} s: {left:.1f} s left"
            for name, left in sorted(m.margins.items(), key=lambda kv: kv[1])]  # fmt: skip


def parse_limits_section(scenarios: dict[str, ScenarioSamples]) -> Section:
    """Each parse against Airflow's dagbag_import_timeout and dag_file_processor_timeout:
    the configurations that passed or neared one, else the closest ones."""
    margins = parse_margins(scenarios)
    title, sid = "Parse time against Airflow's limits", "parse-limits"
    if not margins:
        return Section(title, id=sid, intro=["Not measured: no parse recorded its margins."])
    flagged = [m for m in margins if m.flags]
    rows = flagged or margins[:SHOWN_CLOSEST]
    table = Table(["size", "configuration", "Airflow's parse", "margin under each limit",
                   "flag"], id="parse-limits")  # fmt: skip
    for m in rows:
        parse = fmt_s(m.airflow_parse_s) if m.airflow_parse_s is not None else DASH
        flags = [f"{f} ({m.flags.count(f)} of {m.repetitions})" for f in ("passed", "near")
                 if f in m.flags]  # fmt: skip
        table.add(size_label(m.size), m.label, parse, cell(_limits_text(m)),
                  ", ".join(flags) or DASH)  # fmt: skip
    if flagged:
        intro = (f"{len(flagged)} of {len(margins)} parse configurations passed or came "
                 "within 20% of a limit: a DAG processor with Airflow's defaults fails "
                 "(passed) or nearly fails (near) to import them.")  # fmt: skip
    else:
        intro = (f"Every one of {len(margins)} parse configurations stayed under 80% of "
                 f"Airflow's limits; the {len(rows)} closest:")  # fmt: skip
    notes = ["Airflow's parse is the file's import as Airflow reports it, the time both limits "
             "bound (the DAG processor forks with Airflow already imported); the margin is the "
             "least over the repetitions."]  # fmt: skip
    return Section(title, id=sid, intro=[intro], tables=[table], notes=notes)


def plots_section(plots: list[Plot]) -> Section:
    """The figures of the main phases, one subsection each."""
    section = Section("Figures", id="figures")
    for p in plots:
        section.children.append(Section(p.title, level=3, plots=[p]))
    if not plots:
        section.intro.append("No figure: no successful measurement with a project.")
    return section


def comparison_section(cmp: Comparison) -> Section:
    """Every scenario of the run against the baseline (harness.compare)."""
    table = Table(
        ["scenario", "ok b/n", *(m.label for m in METRICS), "note"], id="comparison-table"
    )
    for s in cmp.scenarios:
        row = [
            cell(s.scenario_id, code=True),
            cell(f"{s.base_status.get('ok', 0)}/{s.new_status.get('ok', 0)}"),
        ]
        for metric in METRICS:
            md = s.metrics.get(metric.key)
            row.append(
                cell(
                    metric_cell(md, metric.unit) if md else "",
                    css="bad" if md and md.verdict == REGRESSION else "",
                )
            )
        note = s.presence if s.presence != "both" else (s.note or "")
        row.append(cell(note, css="bad" if s.now_fails else ""))
        table.rows.append(row)
    verdict = "REGRESSION" if cmp.has_regression else "no regression"
    return Section(
        f"Against the baseline {cmp.base_id}",
        id="comparison",
        intro=[*header_lines(cmp), f"**{verdict}**: {summary_line(cmp)}"],
        tables=[table],
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def time_taken(run: RunData) -> str:
    """What the repetitions took (their harness_s: set-up included, the run's start-up
    and report not) against the dry-run estimate the run began with."""
    took = sum(r.figs.harness_s or 0.0 for r in run.records if r.status != "invalid")
    estimate = run.info.estimate_s
    if not estimate:
        return f"the repetitions took {_minutes(took)} (no estimate recorded)"
    return (f"the repetitions took {_minutes(took)}; the estimate when the run began was "
            f"{_minutes(estimate)} (took / estimate {took / estimate:.2f})")  # fmt: skip


def speed_text(info: RunInfo) -> str:
    """The CPU time of harness.measure.speed's fixed loop at the run's start and resumes."""
    refs = info.cpu_references
    if not refs:
        return "not recorded (runs before 2026-12-02 evening)"
    text = f"a fixed Python loop took {refs[0]:.3f} s of CPU at the start"
    if len(refs) > 1:
        text += ", " + ", ".join(f"{r:.3f}" for r in refs[1:]) + " s at the resumes"
    if mixed(refs):
        text += " (different speeds: the run's times mix them)"
    return text


def environment_rows(run: RunData) -> list[tuple[str, str]]:
    """Where and on what ``run`` was measured, as (what, value) rows."""
    info = run.info
    m, c = info.machine or Machine(), info.commit or Commit()
    rows = [
        ("run", run.run_id),
        ("state", info.state or "unknown"),
        ("started / finished", f"{info.started_at or '?'} / {info.finished_at or '?'}"),
        ("scenario file", info.scenario_file or "?"),
        ("time", time_taken(run)),
        ("memory backend", info.backend or "?"),
        (
            "machine",
            f"{m.node or '?'}: {m.cpu or '?'}, {m.cores_logical or '?'} logical "
            f"cores, {(m.memory_bytes or 0) / 1024**3:.1f} GiB",
        ),
        ("system", f"{m.system or '?'} {m.kernel or '?'} {m.machine or ''}".strip()),
        ("machine speed", speed_text(info)),
        ("harness commit", f"{c.id or '?'} ({c.branch or '?'}{', dirty' if c.dirty else ''})"),
    ]
    if info.shard:
        rows.append(("shard", str(info.shard)))
    if info.merged_from:
        rows.append(("merged from", ", ".join(str(x.run_id) for x in info.merged_from)))
    return rows


def environment_section(run: RunData) -> Section:
    """Where and on what the run was measured."""
    env = Table(["", ""], id="environment")
    for what, value in environment_rows(run):
        env.add(what, value)
    versions = Table(["package", "version"], id="versions")
    for k, v in sorted(run.info.versions.items()):
        versions.add(k, str(v))
    time = Section("Where the run's time went", level=3, id="harness-time-section", intro=[
        "Per phase: what the runner spent on the repetitions (harness_s) and the measured "
        "commands' wall time; of the rest, the project's one-off set-up (dbt parse, ls and "
        "build, once per project) and the measurements' own set-up steps (figures "
        "setup_steps_s: workspace, cache state, the task's DAG import, the warehouse); and "
        "the harness's own share, harness_s over wall_s less one: the repetitions a run "
        "of the same length could have had instead."],
        tables=[time_table(run)])  # fmt: skip
    return Section("Environment", id="environment-section", tables=[env, versions],
                   children=[time])  # fmt: skip


def time_table(run: RunData) -> Table:
    """Per phase, the harness's own share of the time: harness_s less the measured
    wall_s and the project's one-off set-up, over the measured wall_s."""
    table = Table(["phase", "measurements", "harness_s", "measured wall_s",
                   "of the rest: project set-up s", "measurement set-up s",
                   "harness's own share"], id="harness-time")  # fmt: skip
    for t in phase_times(run.records):
        share = f"{t.share:.0%}" if t.share is not None else "-"
        table.add(t.phase, t.measurements, f"{t.harness_s:.0f}", f"{t.wall_s:.0f}",
                  f"{t.setup_s:.0f}", f"{t.steps_s:.0f}", share)  # fmt: skip
    return table


def failures_section(items: list[Failure]) -> Section:
    """Every failed repetition: the failed task and dbt's error line."""
    section = Section("Failures", id="failures-section")
    if not items:
        section.intro.append("None: every measurement succeeded.")
        return section
    table = Table(
        ["scenario", "repetition", "status", "failed task", "error", "log"], id="failures"
    )
    for f in items:
        tasks = ", ".join(f.failed_tasks) or DASH
        if f.skipped:
            tasks += f" ({f.skipped} tasks upstream_failed)"
        table.rows.append(
            [
                cell(f.scenario_id, code=True),
                cell(f.repetition),
                cell(f.status),
                cell(tasks),
                cell(f.error, pre=True),
                cell(f.log),
            ]
        )
    section.tables.append(table)
    return section
