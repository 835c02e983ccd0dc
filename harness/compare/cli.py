"""Compare two runs: for each scenario and metric (peak memory, wall time,
task-slot-seconds) the ratio NEW/BASE and whether it is significant over the
repetitions. Exit 1 when a metric is worse by more than its threshold and the
difference is significant, when a scenario of BASE is missing from NEW or now fails,
or when NEW (or a shard merged into it) is empty or did not finish; 0 otherwise,
2 on bad input. With --history, a single repetition's regression counts only when the
previous night shows it too; otherwise it is listed as suspected (exit 0 for it).
When the two runs' Cosmos or dbt-core releases differ, the table "What upgrading does"
(harness.compare.upgrade) follows; the exit code does not read it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from harness.compare.diff import Thresholds, compare_runs
from harness.compare.export import write_pytest_benchmark
from harness.compare.format import render_markdown, render_table
from harness.compare.runs import RESULTS_ROOT, load_run
from harness.compare.upgrade import pairs_across_runs
from harness.compare.upgrade_text import markdown, plain_lines
from harness.errors import UsageError
from harness.paths import check_not_a_run_file, check_output


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness compare`."""
    parser.add_argument("base", help="BASE run: a run folder or a run id under --results-dir")
    parser.add_argument("new", help="NEW run: a run folder or a run id under --results-dir")
    parser.add_argument(
        "--threshold",
        type=float,
        default=10.0,
        metavar="PCT",
        help="percent worse that counts as a regression, every metric (default 10)",
    )
    for key, label in (
        ("memory", "peak memory"),
        ("time", "wall time"),
        ("slots", "task-slot-seconds"),
    ):
        parser.add_argument(
            f"--threshold-{key}",
            type=float,
            default=None,
            metavar="PCT",
            help=f"threshold for {label} (default: --threshold)",
        )
    parser.add_argument("--format", choices=("table", "markdown"), default="table")
    parser.add_argument(
        "--export-pytest-benchmark",
        type=Path,
        metavar="FILE",
        help="also write the NEW run as pytest-benchmark JSON",
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_ROOT, help="where run ids are looked up"
    )
    parser.add_argument(
        "--all", action="store_true", help="also list the scenarios that did not change"
    )
    parser.add_argument(
        "--history",
        nargs="+",
        default=[],
        metavar="RUN",
        help="earlier runs of the same scenarios (e.g. earlier nights): their spread is"
        " pooled into each test, so that single repetitions can be judged; a single"
        " repetition's regression fails only when the newest of them (by started_at, BASE"
        " aside) shows it too, else it is listed as suspected",
    )


def thresholds_from(args: argparse.Namespace) -> Thresholds:
    """Per-metric thresholds (fractions) from the percent options."""
    values = {}
    _check_percent("--threshold", args.threshold)
    for key in ("memory", "time", "slots"):
        pct = getattr(args, f"threshold_{key}")
        if pct is not None:
            _check_percent(f"--threshold-{key}", pct)
        values[key] = (args.threshold if pct is None else pct) / 100.0
    return Thresholds(**values)


def _check_percent(flag: str, pct: float) -> None:
    """A threshold is a finite percent from 0 to under 1000, refused in its flag's name."""
    if not 0 <= pct < 1000:
        raise UsageError(f"{flag}: expected a percent between 0 and 1000, got {pct:g}")


def _check_export_path(path: Path | None) -> None:
    """Refuse an export path that cannot be written, before anything is computed."""
    if path is None:
        return
    check_output("--export-pytest-benchmark", path, folder=False)


def run(args: argparse.Namespace) -> int:
    """`harness compare BASE NEW`."""
    thresholds = thresholds_from(args)
    _check_export_path(args.export_pytest_benchmark)
    base = load_run(args.base, args.results_dir)
    new = load_run(args.new, args.results_dir)
    history = [load_run(h, args.results_dir) for h in args.history]
    if args.export_pytest_benchmark:
        runs = [base.path, new.path, *(h.path for h in history)]
        check_not_a_run_file("--export-pytest-benchmark", args.export_pytest_benchmark, runs)
    cmp = compare_runs(base, new, thresholds, history=history)
    # Runs of different Cosmos or dbt-core releases: what the upgrade did (empty otherwise)
    upgrade = pairs_across_runs(base, new)
    if args.format == "markdown":
        title = f"Cosmos memory harness: {cmp.new_id} against {cmp.base_id}"
        print(render_markdown(cmp, title, show_all=args.all), end="")
        print(("\n" + markdown(upgrade)) if upgrade else "", end="")
    else:
        console = Console(soft_wrap=True, highlight=False)
        render_table(cmp, console, show_all=args.all)
        for line in plain_lines(upgrade):
            console.print(Text(line), soft_wrap=True)
    if args.export_pytest_benchmark:
        path = write_pytest_benchmark(new, args.export_pytest_benchmark)
        print(f"pytest-benchmark JSON of {new.run_id}: {path}", file=sys.stderr)
    return 1 if cmp.has_regression else 0
