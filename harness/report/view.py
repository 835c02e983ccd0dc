"""The report's view model: sections computed once, rendered twice.

Every section of the report is a ``Section``: a title, paragraphs, tables (a header
and rows of ``TableCell``), figures and notes, and whether the HTML shows it collapsed.
harness.report.render_md and harness.report.render_html lay out any section the same
generic way, so markdown and HTML cannot disagree about what a section says.

Paragraph text may use three marks of inline markdown, which the HTML renderer
translates: `code`, **strong** and *emphasis*. Cell text is plain; a cell says itself
whether it is code, strong or of a CSS class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.report.plots import Plot


@dataclass(frozen=True)
class TableCell:
    """One table cell: one or more lines of plain text."""

    lines: tuple[str, ...]
    code: bool = False
    """Shown as code (scenario ids)."""
    strong: bool = False
    css: str = ""
    """A CSS class in the HTML (good, bad, warn, muted, verdict ...)."""
    pre: bool = False
    """Preformatted in the HTML (quoted logs)."""

    @property
    def text(self) -> str:
        """The lines joined by spaces (for tests and plain uses)."""
        return " ".join(self.lines)


CellValue = TableCell | str | int | float | None


def cell(
    value: CellValue | Iterable[str],
    *,
    code: bool = False,
    strong: bool = False,
    css: str = "",
    pre: bool = False,
) -> TableCell:
    """A TableCell of a value, or of several lines (an iterable of str); None is empty."""
    if isinstance(value, TableCell):
        return value
    if value is None:
        lines: tuple[str, ...] = ()
    elif isinstance(value, str | int | float):
        lines = (str(value),)
    else:
        lines = tuple(str(v) for v in value)
    return TableCell(lines, code, strong, css, pre)


@dataclass
class Table:
    """A header and rows of cells; ``id`` names it in the HTML."""

    header: Sequence[str]
    rows: list[list[TableCell]] = field(default_factory=list)
    id: str = ""
    row_css: str = ""
    """A CSS class of every body row in the HTML."""

    def add(self, *values: CellValue) -> None:
        """Append a row (values made into cells)."""
        self.rows.append([cell(v) for v in values])


@dataclass
class Section:
    """One section: a heading, what it says, its tables and figures, then notes."""

    title: str
    level: int = 2
    id: str = ""
    intro: list[str] = field(default_factory=list)
    """Paragraphs before the tables."""
    tables: list[Table] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Paragraphs after the tables (legends, definitions)."""
    collapsed: bool = False
    """In the HTML, inside a closed <details> (an appendix)."""
    children: list[Section] = field(default_factory=list)

    def walk(self) -> Iterable[Section]:
        """This section and every section under it, in order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Report:
    """The whole report: a title, a short summary under it, and its sections."""

    title: str
    summary: list[str]
    sections: list[Section]

    @property
    def plots(self) -> list[Plot]:
        """Every figure of the report, in order (written beside report.md)."""
        return [p for s in self.sections for sub in s.walk() for p in sub.plots]
