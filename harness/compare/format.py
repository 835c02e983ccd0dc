"""Show a comparison: a rich table for the terminal, markdown for CI job summaries."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.compare.diff import (
    IMPROVEMENT,
    NOT_SIGNIFICANT,
    REGRESSION,
    UNTESTED_BETTER,
    UNTESTED_WORSE,
    WITHIN,
    Comparison,
    MetricDiff,
    ScenarioDiff,
)
from harness.compare.samples import METRICS

MIB = 1024 * 1024
_STYLE = {REGRESSION: "bold red", IMPROVEMENT: "green", UNTESTED_WORSE: "yellow"}
_SHORT = {
    REGRESSION: "REGRESSION",
    IMPROVEMENT: "improved",
    NOT_SIGNIFICANT: "noise",
    WITHIN: "same",
    UNTESTED_WORSE: "worse? (n=1)",
    UNTESTED_BETTER: "better? (n=1)",
}


def fmt_seconds(value: float) -> str:
    """Seconds, with a precision that suits their size."""
    return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"


def fmt_value(value: float, unit: str) -> str:
    """Bytes as MiB, seconds with a precision that suits their size."""
    if unit == "bytes":
        return f"{value / MIB:.0f} MiB" if value >= 10 * MIB else f"{value / MIB:.1f} MiB"
    return fmt_seconds(value)


def fmt_percent(ratio: float, digits: int = 1) -> str:
    """A ratio as a signed percent change ("+30.1%")."""
    if ratio == float("inf"):
        return "+inf%"
    return f"{(ratio - 1.0) * 100.0:+.{digits}f}%"


def metric_cell(m: MetricDiff, unit: str) -> str:
    """One metric's cell, e.g. "225 -> 290 MiB +28.9% REGRESSION (p=0.008)".

    Within the threshold only the figures are shown; outside it the verdict and the
    evidence (U test p-value, or the bootstrap interval of the ratio)."""
    c = m.change
    base, new = fmt_value(c.base.median, unit), fmt_value(c.new.median, unit)
    if base.endswith(" MiB") and new.endswith(" MiB"):
        base = base[: -len(" MiB")]
    text = f"{base} -> {new} {fmt_percent(c.ratio)}"
    if m.verdict == WITHIN:
        return text
    detail = ""
    if c.test == "mann-whitney" and c.p_value is not None:
        detail = f" (p={c.p_value:.2g})"
    elif c.test == "bootstrap" and c.ci_low is not None and c.ci_high is not None:
        detail = f" (CI {fmt_percent(c.ci_low)}..{fmt_percent(c.ci_high)})"
    return f"{text} {_SHORT[m.verdict]}{detail}"


def header_lines(cmp: Comparison) -> list[str]:
    """What was compared, how, and what may make it unfair."""
    th = cmp.thresholds
    lines = [
        f"BASE {cmp.base_id} vs NEW {cmp.new_id}",
        f"thresholds: memory {th.memory:.0%}, time {th.time:.0%}, task-slot-seconds {th.slots:.0%};"
        f" significance: Mann-Whitney U p<{cmp.alpha:g}"
        " (bootstrap 95% CI of the ratio when the repetitions are too few for the U test)",
    ]
    lines += [f"WARNING: {w}" for w in cmp.warnings]
    if cmp.version_changes:
        lines.append(
            "versions changed: " + ", ".join(f"{k} {b} -> {n}" for k, b, n in cmp.version_changes)
        )
    return lines


def summary_line(cmp: Comparison) -> str:
    """The counts, e.g. "2 regression(s), 1 improvement(s), 3 scenario(s) in both runs"."""
    only_base = sum(1 for s in cmp.scenarios if s.presence == "base only")
    only_new = sum(1 for s in cmp.scenarios if s.presence == "new only")
    both = sum(1 for s in cmp.scenarios if s.presence == "both")
    parts = [
        f"{len(cmp.regressions)} regression(s)",
        f"{cmp.count(IMPROVEMENT)} improvement(s)",
        f"{both} scenario(s) in both runs",
    ]
    if only_base:
        parts.append(f"{only_base} only in BASE")
    if only_new:
        parts.append(f"{only_new} only in NEW")
    return ", ".join(parts)


def _n(s: ScenarioDiff) -> str:
    return f"{s.base_status.get('ok', 0)}/{s.new_status.get('ok', 0)}"


def _note(s: ScenarioDiff) -> str:
    if s.presence != "both":
        return s.presence
    return s.note or ""


def render_table(cmp: Comparison, console: Console) -> None:
    """Print the comparison as a rich table."""
    for line in header_lines(cmp):
        console.print(Text(line, style="yellow" if line.startswith("WARNING") else ""))
    table = Table(show_lines=False)
    table.add_column("scenario", overflow="fold")
    table.add_column("ok b/n", justify="right")
    for metric in METRICS:
        table.add_column(metric.label)
    table.add_column("note")
    for s in cmp.scenarios:
        cells: list[Text] = [Text(s.scenario_id), Text(_n(s))]
        for metric in METRICS:
            m = s.metrics.get(metric.key)
            cells.append(
                Text(metric_cell(m, metric.unit), _STYLE.get(m.verdict, "")) if m else Text("")
            )
        cells.append(Text(_note(s), "bold red" if s.now_fails else ""))
        table.add_row(*cells)
    console.print(table)
    style = "bold red" if cmp.has_regression else "green"
    console.print(Text(summary_line(cmp), style=style))


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(cmp: Comparison, title: str | None = None) -> str:
    """The comparison as GitHub-flavoured markdown (for $GITHUB_STEP_SUMMARY and reports)."""
    out = [f"## {title or 'Cosmos memory harness: comparison'}", ""]
    for line in header_lines(cmp):
        out.append(
            f"> :warning: {line[len('WARNING: ') :]}" if line.startswith("WARNING") else line
        )
        out.append("")
    verdict = "**REGRESSION**" if cmp.has_regression else "no regression"
    out += [f"{verdict}: {summary_line(cmp)}", ""]
    head = ["scenario", "ok b/n", *(m.label for m in METRICS), "note"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for s in cmp.scenarios:
        row = [f"`{_md(s.scenario_id)}`", _n(s)]
        for metric in METRICS:
            m = s.metrics.get(metric.key)
            cell = _md(metric_cell(m, metric.unit)) if m else ""
            row.append(f"**{cell}**" if m and m.verdict == REGRESSION else cell)
        note = _md(_note(s))
        row.append(f"**{note}**" if s.now_fails else note)
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"
