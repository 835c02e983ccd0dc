"""Write a run's report: results/<run-id>/report.md (figures in report_files/) and a
self-contained report.html: the memory guide measured, recommendations per project
size, Cosmos's cost over plain `dbt build`, figures, failures and environment.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.compare.runs import RESULTS_ROOT, resolve_run
from harness.report.render import write_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness report`."""
    parser.add_argument(
        "run_dir", metavar="RUN", help="a run folder, a run id under --results-dir, or latest"
    )
    parser.add_argument("--baseline", metavar="RUN", help="also compare with this run")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_ROOT, help="where run ids are looked up"
    )


def run(args: argparse.Namespace) -> int:
    """`harness report RUN [--baseline RUN]`: prints the two paths."""
    run_dir = resolve_run(args.run_dir, args.results_dir)
    baseline = resolve_run(args.baseline, args.results_dir) if args.baseline else None
    md, html = write_report(run_dir, baseline)
    print(md)
    print(html)
    return 0
