"""Build the report's content from a run and render it as markdown and as one
self-contained HTML file (inline CSS, figures as data URIs, no script, no network).

The sections are computed here into plain strings and rows (the "view"); the
jinja2 templates in templates/ only lay them out, once for each format.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from harness.compare.diff import REGRESSION, Comparison, compare_runs
from harness.compare.format import header_lines, metric_cell, render_markdown, summary_line
from harness.compare.runs import RunData, load_run
from harness.compare.samples import METRICS, group_scenarios
from harness.report import guide
from harness.report.common import (
    MIB,
    cell_text,
    change_text,
    fmt_mib,
    fmt_s,
    size_label,
    sorted_sizes,
)
from harness.report.plots import Plot, line_plots, pareto_plots
from harness.report.recommend import WORKER_GIB, Candidate, cosmos_cost, recommend
from harness.report.render_load import LoadView, load_view

TEMPLATES = Path(__file__).parent / "templates"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
FIGURES_DIR = "report_files"
REASON_CHARS = 600

_VERDICT_CLASS = {
    guide.CONFIRMED: "good",
    guide.OPPOSITE: "bad",
    guide.MIXED: "warn",
    guide.NOT_SEEN: "plain",
    guide.UNTESTED: "muted",
    guide.NOT_MEASURED: "muted",
}


@dataclass
class View:
    """Everything the templates show, already formatted."""

    title: str
    run_id: str
    summary: list[str]
    guide_sizes: list[str]
    guide_rows: list[dict[str, Any]]
    guide_details: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]
    costs: list[dict[str, Any]]
    load: LoadView
    """The load-test sections (issue 6), debug mode checked among them."""
    failures: list[dict[str, Any]]
    environment: list[tuple[str, str]]
    versions: list[tuple[str, str]]
    plots: list[Plot]
    comparison: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _guide_view(
    rows: list[guide.GuideRow],
) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    sizes = sorted_sizes(s for r in rows for s in r.cells)
    out: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    for r in rows:
        cells: list[list[str]] = []
        for size in sizes:
            by_metric = r.cells.get(size)
            if not by_metric:
                cells.append([])
                continue
            lines = [
                cell_text(m, c) for m in ("memory", "time", "slots") if (c := by_metric.get(m))
            ]
            lines.append(f"[{r.size_verdicts[size]}]")
            cells.append(lines)
        out.append(
            {
                "number": r.option.number,
                "title": r.option.title,
                "impact": r.option.impact,
                "claim": r.option.claim,
                "measured_by": "; ".join(c.label for c in r.option.contrasts),
                "metrics": ", ".join(r.option.metrics),
                "cells": cells,
                "verdict": r.verdict,
                "verdict_class": _VERDICT_CLASS[r.verdict],
                "pairs": len(r.pairs),
            }
        )
        for p in r.pairs:
            details.append(
                {
                    "number": r.option.number,
                    "contrast": p.contrast,
                    "size": size_label(p.size),
                    "with_id": p.with_id,
                    "without_id": p.without_id,
                    "without_diff": _differing(p.with_id, p.without_id),
                    "changes": [change_text(m, c) for m, c in p.changes.items()],
                    "outcome": ", ".join(
                        f"{m}: {p.outcome(m)}" for m in r.option.metrics if m in p.changes
                    ),
                }
            )
    return [size_label(s) for s in sizes], out, details


def _differing(with_id: str, without_id: str) -> str:
    """The parts of the twin's id that differ from the option's id (what the pair varies)."""
    mine = set(with_id.split("/"))
    return "/".join(part for part in without_id.split("/") if part not in mine) or without_id


def _cand(c: Candidate | None) -> str:
    if c is None:
        return "none fits"
    text = f"{c.label}: {fmt_mib(c.memory)}, {fmt_s(c.time)}"
    if c.smallest_worker is not None:
        text += f" (ran in {fmt_mib(c.smallest_worker)})"
    return text


def _recommendation_view(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for phase, what in (("dag_run", "whole DAG run"), ("task", "one task (largest sampled)")):
        recs = recommend(scenarios, phase)
        if not recs:
            continue
        out.append(
            {
                "phase": phase,
                "what": what,
                "rows": [
                    {
                        "size": size_label(r.size),
                        "candidates": r.candidates,
                        "lowest_memory": _cand(r.lowest_memory),
                        "fastest": _cand(r.fastest),
                        "fits": [_cand(r.fits[g]) for g in WORKER_GIB],
                    }
                    for r in recs
                ],
            }
        )
    return out


def _cost_view(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    def rng(pair: tuple[float, float]) -> str:
        lo, hi = pair
        return f"x{lo:.2f}" if abs(hi - lo) < 0.005 else f"x{lo:.2f}-x{hi:.2f}"

    return [
        {
            "size": size_label(c.size),
            "mode": c.execution_mode,
            "configurations": c.configurations,
            "dbt": f"{fmt_s(c.dbt_time)}, {fmt_mib(c.dbt_memory)} (threads {c.dbt_threads})",
            "time": rng(c.time_ratios),
            "memory": rng(c.memory_ratios),
        }
        for c in cosmos_cost(scenarios)
    ]


def _failures_view(run: RunData) -> list[dict[str, Any]]:
    out = []
    for r in run.records:
        if r.status == "ok":
            continue
        reason = (r.reason or "").strip()
        short = reason if len(reason) <= REASON_CHARS else "..." + reason[-REASON_CHARS:]
        out.append(
            {
                "scenario_id": r.scenario_id,
                "repetition": r.repetition,
                "status": r.status,
                "reason": reason,
                "short": short,
                "log": r.figures.get("log", ""),
            }
        )
    return out


def _environment(run: RunData) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    info = run.info
    m = info.get("machine") or {}
    c = info.get("commit") or {}
    env = [
        ("run", run.run_id),
        ("state", str(info.get("state", "unknown"))),
        ("started / finished", f"{info.get('started_at', '?')} / {info.get('finished_at', '?')}"),
        ("scenario file", str(info.get("scenario_file", "?"))),
        ("memory backend", str(info.get("backend", "?"))),
        (
            "machine",
            f"{m.get('node', '?')}: {m.get('cpu', '?')}, "
            f"{m.get('cores_logical', '?')} logical cores, "
            f"{(m.get('memory_bytes') or 0) / 1024**3:.1f} GiB",
        ),
        ("system", f"{m.get('system', '?')} {m.get('kernel', '?')} {m.get('machine', '')}".strip()),
        (
            "harness commit",
            f"{c.get('id', '?')} ({c.get('branch', '?')}{', dirty' if c.get('dirty') else ''})",
        ),
    ]
    if info.get("shard"):
        env.append(("shard", str(info["shard"])))
    if info.get("merged_from"):
        env.append(("merged from", ", ".join(str(x.get("run_id")) for x in info["merged_from"])))
    versions = [(k, str(v)) for k, v in sorted((info.get("versions") or {}).items())]
    return env, versions


def _comparison_view(cmp: Comparison) -> dict[str, Any]:
    rows = []
    for s in cmp.scenarios:
        cells = []
        for metric in METRICS:
            md = s.metrics.get(metric.key)
            cells.append(
                {
                    "text": metric_cell(md, metric.unit) if md else "",
                    "bad": bool(md and md.verdict == REGRESSION),
                }
            )
        rows.append(
            {
                "scenario_id": s.scenario_id,
                "n": f"{s.base_status.get('ok', 0)}/{s.new_status.get('ok', 0)}",
                "cells": cells,
                "note": s.presence if s.presence != "both" else (s.note or ""),
                "bad": s.now_fails,
            }
        )
    return {
        "header": header_lines(cmp),
        "summary": summary_line(cmp),
        "regression": cmp.has_regression,
        "metrics": [m.label for m in METRICS],
        "rows": rows,
        "markdown": render_markdown(cmp, f"Against the baseline {cmp.base_id}"),
    }


def build_view(run: RunData, baseline: RunData | None = None) -> View:
    """Compute every section of the report of ``run``."""
    scenarios = group_scenarios(run.records)
    sizes, guide_rows, details = _guide_view(guide.evaluate(scenarios))
    env, versions = _environment(run)
    counts = Counter(r.status for r in run.records)
    summary = [
        f"{len(run.records)} measurements of {len(scenarios)} scenarios: "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        "Peak memory is the whole process tree's at one moment; times are wall-clock seconds.",
        f"Changes are median(with the option) / median(without); a change under "
        f"{guide.MIN_EFFECT:.0%} counts as none. Significance: Mann-Whitney U, p<0.05 "
        "(bootstrap 95% CI of the ratio with too few repetitions for the U test).",
    ]
    view = View(
        title=f"Cosmos memory harness: {run.run_id}",
        run_id=run.run_id,
        summary=summary,
        guide_sizes=sizes,
        guide_rows=guide_rows,
        guide_details=details,
        recommendations=_recommendation_view(scenarios),
        costs=_cost_view(scenarios),
        load=load_view(run, scenarios),
        failures=_failures_view(run),
        environment=env,
        versions=versions,
        plots=line_plots(scenarios) + pareto_plots(scenarios),
    )
    if baseline is not None:
        view.comparison = _comparison_view(compare_runs(baseline, run))
    return view


def _md_code(value: Any) -> str:
    """Text for a markdown table cell inside a code span: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _md_cell(value: Any) -> str:
    """Text for a markdown table cell: one line, pipes and HTML escaped (reasons quote logs)."""
    return _md_code(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def environment() -> Environment:
    """The jinja2 environment of the report templates (HTML autoescaped)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["mdcell"] = _md_cell
    env.filters["mdcode"] = _md_code
    env.globals["WORKER_GIB"] = WORKER_GIB
    env.globals["MIB"] = MIB
    return env


def render(view: View, fmt: str) -> str:
    """The report as "md" or "html" text."""
    return environment().get_template(f"report.{fmt}").render(v=view, figures_dir=FIGURES_DIR)


def write_report(run_dir: Path, baseline: Path | None = None) -> tuple[Path, Path]:
    """Write ``run_dir``/report.md (figures in report_files/) and a self-contained
    ``run_dir``/report.html; returns their paths. ``baseline``: a run folder to compare with."""
    run = load_run(run_dir)
    base = load_run(baseline) if baseline is not None else None
    view = build_view(run, base)
    figures = run.path / FIGURES_DIR
    figures.mkdir(exist_ok=True)
    for plot in view.plots + view.load.plots:
        (figures / plot.file_name).write_bytes(plot.png)
    md, html = run.path / REPORT_MD, run.path / REPORT_HTML
    md.write_text(render(view, "md"), encoding="utf-8")
    html.write_text(render(view, "html"), encoding="utf-8")
    return md, html
