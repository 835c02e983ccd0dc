"""The report as markdown: one generic layout of any section of the view model
(harness.report.view), figures as links into report_files/."""

from __future__ import annotations

from typing import Any

from harness.report.view import Report, Section, Table, TableCell


def md_code(value: Any) -> str:
    """Text for a markdown table cell inside a code span: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def md_text(value: Any) -> str:
    """Text for a markdown table cell: one line, pipes and tags escaped (reasons quote logs;
    a lone ">" cannot open a tag)."""
    return md_code(value).replace("&", "&amp;").replace("<", "&lt;")


def _cell(c: TableCell) -> str:
    parts = [f"`{md_code(line)}`" if c.code else md_text(line) for line in c.lines]
    if c.strong and parts:
        parts = [f"**{p}**" for p in parts]
    return "<br>".join(parts)


def _table(t: Table) -> list[str]:
    out = ["| " + " | ".join(md_text(h) for h in t.header) + " |"]
    out.append("|" + "---|" * len(t.header))
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return [*out, ""]


def _section(s: Section, figures_dir: str) -> list[str]:
    out = ["#" * s.level + " " + s.title, ""]
    for paragraph in s.intro:
        out += [paragraph, ""]
    for t in s.tables:
        out += _table(t)
    for p in s.plots:
        out += [f"![{p.title}]({figures_dir}/{p.file_name})", "", p.caption, ""]
        if p.legend:
            out += [f"{n}. {label}" for n, label in enumerate(p.legend, 1)] + [""]
    for child in s.children:
        out += _section(child, figures_dir)
    for paragraph in s.notes:
        out += [paragraph, ""]
    return out


def render_markdown(report: Report, figures_dir: str) -> str:
    """The whole report as markdown text."""
    out = [f"# {report.title}", ""]
    for paragraph in report.summary:
        out += [paragraph, ""]
    for s in report.sections:
        out += _section(s, figures_dir)
    return "\n".join(out).rstrip("\n") + "\n"
