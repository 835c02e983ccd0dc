"""Join the results of several runs (for example the shards of one matrix) into a new run."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.errors import UsageError
from harness.paths import check_not_inside, check_output
from harness.store.jsonl import CorruptResults
from harness.store.merge import MergeError, merge_runs
from harness.store.runinfo import CorruptRunInfo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness merge`."""
    parser.add_argument("out", type=Path, help="folder of the merged run, e.g. results/nightly")
    parser.add_argument("runs", type=Path, nargs="+", help="run folders to join")


def run(args: argparse.Namespace) -> int:
    """`harness merge OUT RUN...`."""
    check_output("OUT", args.out, folder=True)
    check_not_inside("OUT", args.out, args.runs)
    try:
        n = merge_runs(list(args.runs), args.out)
    except (MergeError, CorruptResults, CorruptRunInfo) as exc:
        raise UsageError(str(exc)) from None
    print(f"merged {n} records from {len(args.runs)} runs into {args.out}")
    return 0
