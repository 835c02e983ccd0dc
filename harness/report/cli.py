"""Write a run's report: results/<run-id>/report.md (figures in report_files/) and a
self-contained report.html: the memory guide measured, recommendations per project
size, Cosmos's cost over plain `dbt build`, figures, failures and environment.

Given several runs, one report of them all is written into --out DIR: where a scenario
was measured in more than one run, one answer is used (harness.store.current), and the
section "Runs and superseded records" names the records left out and why.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.compare.runs import RESULTS_ROOT, resolve_run
from harness.errors import UsageError
from harness.report.render import write_report, write_runs_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness report`."""
    parser.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN",
        help="a run folder, a run id under --results-dir, or latest; several: one report "
        "of them all (needs --out)",
    )
    parser.add_argument("--baseline", metavar="RUN", help="also compare with this run")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_ROOT, help="where run ids are looked up"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write the report into DIR (new or holding only an earlier report; its parent "
        "must exist; not inside a run); needed for several runs",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="also write report.json: the answer, the guide rows and the recommendations as data",
    )


def run(args: argparse.Namespace) -> int:
    """`harness report RUN [RUN ...] [--out DIR] [--baseline RUN]`: prints the two paths."""
    if len(args.run_dirs) > 1 and args.out is None:
        raise UsageError("several runs need --out DIR: their report is written apart from them")
    if len(args.run_dirs) > 1 and args.json:
        raise UsageError("--json takes one run")
    run_dirs = [resolve_run(r, args.results_dir) for r in args.run_dirs]
    baseline = resolve_run(args.baseline, args.results_dir) if args.baseline else None
    if args.out is None:
        md, html = write_report(run_dirs[0], baseline)
    else:
        md, html = write_runs_report(run_dirs, args.out, baseline)
    print(md)
    print(html)
    if args.json:
        from harness.report.guide_json import write_guide_json

        print(write_guide_json(run_dirs[0], args.out))
    return 0
