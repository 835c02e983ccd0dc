"""The report's sections on Cosmos's memory guide: the guide table (each option's
change at each size and its verdict) and, as a collapsed appendix, every measured pair."""

from __future__ import annotations

from harness.report import guide
from harness.report.common import cell_text, change_text, size_label, sorted_sizes
from harness.report.view import Cell, Section, Table, cell

VERDICT_CSS = {
    guide.CONFIRMED: "good",
    guide.OPPOSITE: "bad",
    guide.MIXED: "warn",
    guide.NOT_SEEN: "",
    guide.UNTESTED: "muted",
    guide.NOT_MEASURED: "muted",
}

GUIDE_INTRO = (
    'Each row is an option of Cosmos\'s "Memory Optimization Options" page. The cells give '
    "the change with the option against without it, at each project size, and that size's "
    "verdict; the last column is the option's verdict over every size and phase."
)
VERDICTS = (
    "Verdicts: *confirmed* (a significant improvement of the claimed metric in the claimed "
    "direction), *not seen* (no significant difference), *the opposite* (a significant "
    "worsening), *mixed* (both, at different sizes or phases), *too few repetitions* (one "
    "repetition on a side), *not measured* (the run has no scenarios that differ only in this "
    'option). For debug mode the claim is "minimal overhead": confirmed unless it makes '
    "things significantly worse."
)


def verdict_cell(verdict: str) -> Cell:
    """A verdict, strong and coloured by what it says."""
    return cell(verdict, strong=True, css=f"verdict {VERDICT_CSS.get(verdict, '')}".strip())


def _size_cell(row: guide.GuideRow, size: int | str | None) -> Cell:
    by_metric = row.cells.get(size)
    if not by_metric:
        return cell(None)
    lines = [cell_text(m, c) for m in ("memory", "time", "slots") if (c := by_metric.get(m))]
    return cell([*lines, f"[{row.size_verdicts[size]}]"])


def guide_section(rows: list[guide.GuideRow]) -> Section:
    """The guide table: one row per option, one column per size, then the verdict."""
    sizes = sorted_sizes(s for r in rows for s in r.cells)
    table = Table(
        [
            "#",
            "option",
            "guide's impact",
            "measured by",
            *(size_label(s) for s in sizes),
            "verdict",
        ],
        id="guide",
        row_css="option",
    )
    for r in rows:
        o = r.option
        table.rows.append(
            [
                cell(o.number),
                cell(o.title),
                cell(f"{o.impact}: {o.claim}"),
                cell("; ".join(c.label for c in o.contrasts)),
                *(_size_cell(r, s) for s in sizes),
                verdict_cell(r.verdict),
            ]
        )
    return Section(
        "The memory guide, measured",
        id="guide-section",
        intro=[GUIDE_INTRO],
        tables=[table],
        notes=[VERDICTS],
    )


def _differing(with_id: str, without_id: str) -> str:
    """The parts of the twin's id that differ from the option's id (what the pair varies)."""
    mine = set(with_id.split("/"))
    return "/".join(part for part in without_id.split("/") if part not in mine) or without_id


def pairs_section(rows: list[guide.GuideRow]) -> Section | None:
    """Every measured pair behind the guide table (an appendix, collapsed in the HTML)."""
    table = Table(
        [
            "#",
            "contrast",
            "size",
            "with the option",
            "the twin without it differs in",
            "with vs without: median (spread), change",
            "outcome",
        ],
        id="guide-pairs",
    )
    for r in rows:
        for p in r.pairs:
            table.rows.append(
                [
                    cell(r.option.number),
                    cell(p.contrast),
                    cell(size_label(p.size)),
                    cell(p.with_id, code=True),
                    cell(_differing(p.with_id, p.without_id), code=True),
                    cell([change_text(m, c) for m, c in p.changes.items()]),
                    cell(
                        ", ".join(
                            f"{m}: {p.outcome(m)}" for m in r.option.metrics if m in p.changes
                        )
                    ),
                ]
            )
    if not table.rows:
        return None
    return Section(
        f"Appendix: every measured pair ({len(table.rows)})",
        id="guide-pairs-section",
        intro=["The pairs of scenarios behind each cell of the guide table."],
        tables=[table],
        collapsed=True,
    )
