"""A generated block of the README, between its two marker comments: what a test compares
with what the code makes today, and what running that test module as a script rewrites."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def markers(name: str) -> tuple[str, str]:
    """The block's begin and end comments: ``<!-- name:begin -->``, ``<!-- name:end -->``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def current(name: str) -> str:
    """The README's block ``name`` as committed, markers included."""
    begin, end = markers(name)
    text = README.read_text()
    return text[text.index(begin) : text.index(end) + len(end)]


def rewrite(name: str, block: str) -> None:
    """Put ``block`` (markers included) in place of the README's block ``name``."""
    text = README.read_text()
    README.write_text(text.replace(current(name), block, 1))
