"""Write the history page of nightly runs: each key scenario's peak memory and wall time
night after night, the commit and stack versions of each night, and the steps where the
level changed (out/index.html, self-contained).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.history.page import DEFAULT_LIMIT, write_history
from harness.paths import check_not_inside, check_output


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness history`."""
    parser.add_argument(
        "runs", nargs="+", metavar="RUN", help="run folders (or run ids), in any order"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for index.html")
    parser.add_argument("--scenario", action="append", default=[], metavar="SUBSTR",
                        help="only scenario ids containing SUBSTR (repeatable: any of them)")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                        help=f"at most this many key scenarios (default {DEFAULT_LIMIT})")


def run(args: argparse.Namespace) -> int:
    """`harness history RUN... --out DIR`: prints the page's path."""
    check_output("--out", args.out, folder=True)
    check_not_inside("--out", args.out, [Path(r) for r in args.runs if Path(r).is_dir()])
    print(write_history(args.runs, args.out, args.scenario, args.limit))
    return 0
