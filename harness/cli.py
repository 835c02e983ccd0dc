"""`harness` command line: one subcommand per step of the flow.

Each step keeps its own CLI in ``harness/<step>/cli.py`` with ``add_arguments(parser)``
and ``run(args) -> int``; this module only wires them and turns bad input into
one line on stderr and exit code 2, and each file whose bad lines a reader skipped
(harness.errors.InputWarning) into one warning line after the command's own output.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from harness.errors import InputWarning, UsageError

# (subcommand, module holding add_arguments/run, one-line help)
COMMANDS: list[tuple[str, str, str]] = [
    ("generate", "harness.generate.cli", "write a synthetic dbt project"),
    ("measure", "harness.measure.cli", "peak memory and time of a process tree"),
    ("run", "harness.run.cli", "run a scenario file on the real stack"),
    ("registry", "harness.registry.cli", "the phases and axes a scenario file can use"),
    ("merge", "harness.store.cli", "join the results of several runs (shards)"),
    ("filter", "harness.compare.filter", "keep part of a run (by -k, by status) as a new run"),
    ("compare", "harness.compare.cli", "compare two runs; exit 1 on a regression"),
    ("report", "harness.report.cli", "write a run's report (markdown and self-contained HTML)"),
    ("history", "harness.history.cli", "a page of key scenarios' figures night after night"),
    ("size", "harness.size.cli", "how much memory the worker you run needs, measured or predicted"),
    ("advise", "harness.advise.cli", "measure your dbt project within a budget; which settings"),
]


def one_line(message: str) -> str:
    """``message`` with its control characters escaped (a path or value given with a
    line break or a carriage return), so that a refusal stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand named; only ``only``'s module is imported
    (when given), so a quick command does not pay for the imports of a slow one."""
    parser = _Parser(prog="harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module_name, help_text in COMMANDS:
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        sp = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if any("\0" in arg for arg in argv):  # no path, name or value holds one
        print("harness: error: an argument holds a NUL byte", file=sys.stderr)
        return 2
    known = {name for name, _, _ in COMMANDS}
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in known else None)
    args = parser.parse_args(argv)
    skipped: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", InputWarning)  # once per file and message
            warnings.showwarning = _collector(skipped, warnings.showwarning)
            code = int(args._run(args))
    except UsageError as exc:  # a refusal is its one line: what was skipped before it is moot
        print(f"harness {args.command}: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # A path the user gave that the file system cannot hold (a name over its limit, a
        # loop of links) is bad input wherever a reader meets it; other OS errors are not.
        if exc.errno not in (errno.ENAMETOOLONG, errno.ELOOP):
            raise
        print(f"harness {args.command}: error: {one_line(str(exc))[:300]}", file=sys.stderr)
        return 2
    for message in skipped:
        print(f"harness {args.command}: warning: {one_line(message)}", file=sys.stderr)
    return code


def _collector(into: list[str], other: Callable[..., None]) -> Callable[..., None]:
    """warnings.showwarning that keeps an InputWarning's text in ``into`` (printed as one
    line once the command succeeds) and hands any other warning to ``other``."""

    def show(message: Warning | str, category: type[Warning], *rest: Any, **kw: Any) -> None:
        if issubclass(category, InputWarning):
            into.append(str(message))
        else:
            other(message, category, *rest, **kw)

    return show
