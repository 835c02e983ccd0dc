"""Build the report of a run, or of several runs (the records harness.store.current
chooses across them), once, as sections (harness.report.view), and write it as markdown
(figures in report_files/) and as one self-contained HTML file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness import guide
from harness.compare.configs import without_celery
from harness.compare.diff import compare_runs
from harness.compare.runs import RunData, load_run
from harness.compare.samples import group_scenarios
from harness.compare.upgrade import pairs_across_runs
from harness.report.plots import line_plots, pareto_plots
from harness.report.render_html import render_html
from harness.report.render_md import render_markdown
from harness.report.runs import Sources, check_out, choose, combined_failures, combined_run
from harness.report.sections_checks import load_section
from harness.report.sections_guide import guide_section, pairs_section
from harness.report.sections_recommend import recommendations_section
from harness.report.sections_run import (
    comparison_section,
    cost_section,
    environment_section,
    failures_section,
    parse_limits_section,
    plots_section,
)
from harness.report.sections_runs import environments_section, runs_section, scenarios_text
from harness.report.sections_sizing import sizing_section
from harness.report.sections_upgrade import upgrade_section
from harness.report.sections_workers import workers_section
from harness.report.summary import summary_section
from harness.report.view import Report, Section
from harness.verdicts.failures import failures
from harness.verdicts.report_data import ReportData, report_data

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
FIGURES_DIR = "report_files"


def _summary(run: RunData, n_scenarios: int) -> list[str]:
    counts = Counter(r.status for r in run.records)
    return [
        f"{len(run.records)} measurements of {n_scenarios} scenarios: "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        "Peak memory is the whole process tree's at one moment; times are wall-clock seconds.",
        f"Changes are median(with the option) / median(without); a change under "
        f"{guide.MIN_EFFECT:.0%} counts as none. Significance: Student's t on the log "
        "values, p<0.05, with its 95% interval of the ratio; one repetition against one "
        "is 'too few repetitions', not a verdict. A guide row's pairs where the option "
        "acted are judged together: their p-values are adjusted (Benjamini-Hochberg; a "
        "pair where it never acted is shown unadjusted and left out), so that an option "
        "with no effect gets a verdict other than 'not seen' in at most about 5% of runs.",
    ]


def _sources_line(sources: Sources) -> str:
    current = sources.current
    return (
        f"Records of {len(sources.runs)} runs ("
        + ", ".join(r.run_id for r in sources.runs)
        + "): where a scenario was measured in more than one, one answer is used; "
        f"a run's records of {scenarios_text(len(current.superseded))} superseded, "
        f"{scenarios_text(len(current.pooled))} pooled across runs (see Runs and superseded "
        "records)."
    )


def build_report(
    run: RunData, baseline: RunData | None = None, sources: Sources | None = None
) -> Report:
    """Compute every section of the report of ``run`` (against ``baseline`` if given).
    ``sources``: ``run`` is several runs combined (harness.report.runs.combined_run): the
    runs section is added, failures are read in their own runs, and the environment is
    each run's."""
    scenarios = group_scenarios(run.records)
    # A Celery run's own peak is the scheduler loop's alone (its tasks ran in the
    # workers' cgroups): the guide, the recommendations and the plots, which compare
    # whole LocalExecutor runs, leave it to the workers section.
    local = without_celery(scenarios)
    # The answer, the guide's rows and the recommendations, computed once: report.json
    # holds the same data (harness.verdicts.report_data).
    data: ReportData = report_data(run, scenarios)
    rows = data.guide
    sections: list[Section | None] = [
        summary_section(scenarios, data.answer),
        sizing_section(run.records),
        guide_section(rows),
        upgrade_section(data.upgrade, pairs_across_runs(baseline, run) if baseline else None),
        recommendations_section(data.recommendations),
        cost_section(local),
        parse_limits_section(local),
        load_section(run, scenarios),
        workers_section(scenarios),
        plots_section(line_plots(local) + pareto_plots(local)),
        comparison_section(compare_runs(baseline, run)) if baseline is not None else None,
        failures_section(
            combined_failures(sources) if sources else failures(run.path, run.records)
        ),
        runs_section(sources) if sources else None,
        environments_section(sources) if sources else environment_section(run),
        pairs_section(rows),
    ]
    summary = _summary(run, len(scenarios))
    if sources:
        summary.insert(1, _sources_line(sources))
    return Report(
        f"Cosmos memory harness: {run.run_id}",
        summary,
        [s for s in sections if s is not None],
    )


def _write(report: Report, folder: Path) -> tuple[Path, Path]:
    """Write ``report`` into ``folder``: report.md, its figures in report_files/, and a
    self-contained report.html; returns the two paths."""
    figures = folder / FIGURES_DIR
    figures.mkdir(exist_ok=True)
    for plot in report.plots:
        (figures / plot.file_name).write_bytes(plot.png)
    md, html = folder / REPORT_MD, folder / REPORT_HTML
    md.write_text(render_markdown(report, FIGURES_DIR), encoding="utf-8")
    html.write_text(render_html(report), encoding="utf-8")
    return md, html


def write_report(run_dir: Path, baseline: Path | None = None) -> tuple[Path, Path]:
    """Write ``run_dir``/report.md (figures in report_files/) and a self-contained
    ``run_dir``/report.html; returns their paths. ``baseline``: a run folder to compare with."""
    run = load_run(run_dir)
    base = load_run(baseline) if baseline is not None else None
    return _write(build_report(run, base), run.path)


def write_runs_report(
    run_dirs: Sequence[Path], out: Path, baseline: Path | None = None
) -> tuple[Path, Path]:
    """Write the report of several runs into ``out`` (report.md, report_files/,
    report.html), from the records harness.store.current chooses across them (one run:
    its own report, written into ``out``); ``out`` must not be inside a run nor hold
    other files, and its parent must exist."""
    runs = [load_run(d) for d in run_dirs]
    check_out(out, runs)
    base = load_run(baseline) if baseline is not None else None
    if len(runs) == 1:
        report = build_report(runs[0], base)
    else:
        sources = choose(runs)
        report = build_report(combined_run(sources, out), base, sources)
    out.mkdir(exist_ok=True)
    return _write(report, out)
