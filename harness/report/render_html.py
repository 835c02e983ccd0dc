"""The report as one self-contained HTML file (inline CSS, figures as data URIs, no
script, no network): one generic jinja2 template lays out any section of the view model
(harness.report.view). jinja2 is imported when a report is rendered, not before."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markupsafe import Markup

    from harness.report.view import Report

TEMPLATES = Path(__file__).parent / "templates"

_INLINE = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"<em>\1</em>"),
)


def inline(text: str) -> Markup:
    """A paragraph's inline markdown (`code`, **strong**, *emphasis*) as escaped HTML."""
    from markupsafe import Markup

    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return Markup(out)


def render_template(name: str, **context: Any) -> str:
    """Render one of the report's self-contained HTML templates (templates/)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["inline"] = inline
    return env.get_template(name).render(**context)


def render_html(report: Report) -> str:
    """The whole report as HTML text."""
    return render_template("report.html", r=report)
