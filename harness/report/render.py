"""Build the report of a run once, as sections (harness.report.view), and write it as
markdown (figures in report_files/) and as one self-contained HTML file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from harness.compare.diff import compare_runs
from harness.compare.runs import RunData, load_run
from harness.compare.samples import group_scenarios
from harness.report import guide
from harness.report.common import without_celery
from harness.report.failures import failures
from harness.report.plots import line_plots, pareto_plots
from harness.report.render_html import render_html
from harness.report.render_md import render_markdown
from harness.report.sections_checks import load_section
from harness.report.sections_guide import guide_section, pairs_section
from harness.report.sections_run import (
    comparison_section,
    cost_section,
    environment_section,
    failures_section,
    figures_section,
    parse_limits_section,
    recommendations_section,
)
from harness.report.sections_workers import workers_section
from harness.report.summary import summary_section
from harness.report.view import Report, Section

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


def build_report(run: RunData, baseline: RunData | None = None) -> Report:
    """Compute every section of the report of ``run`` (against ``baseline`` if given)."""
    scenarios = group_scenarios(run.records)
    # A Celery run's own peak is the scheduler loop's alone (its tasks ran in the
    # workers' cgroups): the guide, the recommendations and the plots, which compare
    # whole LocalExecutor runs, leave it to the workers section.
    local = without_celery(scenarios)
    rows = guide.evaluate(local)
    sections: list[Section | None] = [
        summary_section(scenarios),
        guide_section(rows),
        recommendations_section(local),
        cost_section(local),
        parse_limits_section(local),
        load_section(run, scenarios),
        workers_section(scenarios),
        figures_section(line_plots(local) + pareto_plots(local)),
        comparison_section(compare_runs(baseline, run)) if baseline is not None else None,
        failures_section(failures(run.path, run.records)),
        environment_section(run),
        pairs_section(rows),
    ]
    return Report(
        f"Cosmos memory harness: {run.run_id}",
        _summary(run, len(scenarios)),
        [s for s in sections if s is not None],
    )


def write_report(run_dir: Path, baseline: Path | None = None) -> tuple[Path, Path]:
    """Write ``run_dir``/report.md (figures in report_files/) and a self-contained
    ``run_dir``/report.html; returns their paths. ``baseline``: a run folder to compare with."""
    run = load_run(run_dir)
    base = load_run(baseline) if baseline is not None else None
    report = build_report(run, base)
    figures = run.path / FIGURES_DIR
    figures.mkdir(exist_ok=True)
    for plot in report.plots:
        (figures / plot.file_name).write_bytes(plot.png)
    md, html = run.path / REPORT_MD, run.path / REPORT_HTML
    md.write_text(render_markdown(report, FIGURES_DIR), encoding="utf-8")
    html.write_text(render_html(report), encoding="utf-8")
    return md, html
