"""Keep part of a run as a new run, instead of editing results.jsonl by hand: the
records whose scenario id matches -k and whose status is kept. run.json records the
source and the filter (``filtered_from``), so the result's provenance stays known.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.compare.runs import RESULTS_ROOT, resolve_run
from harness.errors import UsageError
from harness.paths import check_not_inside, check_output
from harness.scenarios.matrix import keyword_matcher
from harness.store.jsonl import CorruptResults
from harness.store.merge import MergeError, filter_run
from harness.store.record import Record
from harness.store.runinfo import CorruptRunInfo

STATUSES = ("ok", "error", "oom", "timeout", "invalid")


def _statuses(text: str) -> set[str]:
    names = {s.strip() for s in text.split(",") if s.strip()}
    unknown = names - set(STATUSES)
    if unknown or not names:
        raise UsageError(
            f"--status/--drop-status: expected some of {', '.join(STATUSES)}, got {text!r}"
        )
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness filter`."""
    parser.add_argument("source", help="the run to read: a run folder or a run id")
    parser.add_argument("out", type=Path, help="folder of the new run (must not exist)")
    parser.add_argument("-k", dest="select", metavar="EXPR", help="keep ids matching EXPR")
    parser.add_argument("--status", metavar="S,S", help="keep only these statuses, e.g. ok")
    parser.add_argument("--drop-status", metavar="S,S", help="drop these statuses, e.g. error")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_ROOT, help="where run ids are looked up"
    )


def run(args: argparse.Namespace) -> int:
    """`harness filter SOURCE OUT [-k EXPR] [--status S,...] [--drop-status S,...]`."""
    if not (args.select or args.status or args.drop_status):
        raise UsageError("nothing to filter by: give -k, --status or --drop-status")
    matches = keyword_matcher(args.select) if args.select else None
    keep_st = _statuses(args.status) if args.status else set(STATUSES)
    drop_st = _statuses(args.drop_status) if args.drop_status else set()
    check_output("OUT", args.out, folder=True)
    source = resolve_run(args.source, args.results_dir)
    check_not_inside("OUT", args.out, [source])

    def keep(r: Record) -> bool:
        if matches is not None and not matches(r.scenario_id):
            return False
        return r.status in keep_st and r.status not in drop_st

    how = {"k": args.select, "status": args.status, "drop_status": args.drop_status}
    try:
        kept, dropped = filter_run(source, args.out, keep, how)
    except (MergeError, CorruptResults, CorruptRunInfo) as exc:
        raise UsageError(str(exc)) from None
    print(f"kept {kept} records of {source}, dropped {dropped}, into {args.out}")
    return 0
