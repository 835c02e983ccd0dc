"""Run a scenario file on the real stack: every combination, each phase measured.

Results go to results/<run-id>/results.jsonl (one line per measurement, written
as it comes) and run.json (versions, machine, commit, backend, the file).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness.errors import UsageError
from harness.measure import interrupt
from harness.procs.cleanup import MARK_VAR, end_orphans, install_mark
from harness.procs.supervise import reaper
from harness.run.estimate import (
    estimate_s,
    measuring_estimate_s,
    run_estimate_s,
    setup_estimate_s,
)
from harness.run.runid import check_results_dir, check_run_id, claim_new, lock_run
from harness.run.runner import Unit, execute, iter_shard, units_of
from harness.scenarios import expand, load_scenario_file, select
from harness.scenarios.scenario_file import ScenarioFile
from harness.stack.workspace import RunDir, SetupError
from harness.store.jsonl import RESULTS_FILE, CorruptResults, read_records
from harness.store.record import Record
from harness.store.runinfo import CorruptRunInfo, read_run_info

RESULTS_ROOT = Path("results")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness run`."""
    parser.add_argument("scenario_file", nargs="?", type=Path, help="TOML scenario file")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the measurements and the time estimate"
    )
    parser.add_argument(
        "-k", dest="select", metavar="EXPR", help="select scenario ids (substrings, and/or/not)"
    )
    parser.add_argument("--shard", metavar="K/N", help="run every N-th measurement from the K-th")
    parser.add_argument(
        "--resume", metavar="RUN_ID", help="continue a run, skipping what is recorded"
    )
    parser.add_argument(
        "--rerun-failed",
        metavar="RUN_ID",
        help="measure a run's failed repetitions again, into the same run",
    )
    parser.add_argument("--run-id", help="name of the run folder (default: time and file name)")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_ROOT, help="where run folders go"
    )


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'K/N' with 1 <= K <= N."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match:
        raise UsageError(f"--shard: expected K/N such as 1/4, got {text!r}")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise UsageError(f"--shard: K must be between 1 and N, got {text}")
    return k, n


def _fmt_s(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def run(args: argparse.Namespace) -> int:
    """`harness run`: exit 0 when every measurement was recorded (whatever its status).

    Every argument is checked before anything runs or is written."""
    check_results_dir(args.results_dir)
    shard = parse_shard(args.shard)
    if args.resume and args.rerun_failed:
        raise UsageError("--resume and --rerun-failed: give one of them")
    resume = args.resume or args.rerun_failed
    if resume:
        flag = "--resume" if args.resume else "--rerun-failed"
        check_run_id(flag, resume, args.results_dir)
        root = args.results_dir / resume
        stored = root / "scenario.toml"
        if not root.is_dir() or (not stored.exists() and args.scenario_file is None):
            raise UsageError(f"{flag}: no run {resume!r} under {args.results_dir}")
        spec = load_scenario_file(args.scenario_file or stored)
        _check_recorded(root, flag)
        run_id = resume
    else:
        if args.scenario_file is None:
            raise UsageError("a scenario file is needed (or --resume RUN_ID)")
        if args.run_id is not None:
            check_run_id("--run-id", args.run_id, args.results_dir)
        spec = load_scenario_file(args.scenario_file)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        suffix = f"-shard{shard[0]}of{shard[1]}" if shard else ""
        # The file's name is cut so that the default id stays within a name's limit.
        run_id = args.run_id or f"{stamp}-{spec.path.stem[:100]}{suffix}"
        check_run_id("--run-id", run_id, args.results_dir)
        if (args.results_dir / run_id).exists() and args.run_id and not args.dry_run:
            raise UsageError(f"--run-id: {args.results_dir / run_id} exists; use --resume {run_id}")
    measurements = select(expand(spec), args.select)
    units = list(iter_shard(units_of(measurements, spec.task_sample), shard))
    console = Console(stderr=True)
    if args.dry_run:
        return _dry_run(console, units)
    if not units:
        raise UsageError("no measurement selected")
    if resume:
        root = root.resolve()
    else:
        root, run_id = claim_new(args.results_dir, run_id, explicit=bool(args.run_id))
        root = root.resolve()
    with supervised(root, args.results_dir):
        return run_with_progress(
            console, spec, units, RunDir(root), run_id, shard, rerun_failed=bool(args.rerun_failed)
        )


def _check_recorded(root: Path, flag: str = "--resume") -> None:
    """--resume, --rerun-failed: the results so far and run.json must be readable (a torn
    last line is fine)."""
    try:
        read_run_info(root)
    except CorruptRunInfo as exc:
        raise UsageError(f"{flag}: {exc}") from None
    results = root / RESULTS_FILE
    if not results.exists():
        return
    if not results.is_file():
        raise UsageError(f"{flag}: {results} is not a file")
    try:
        for _ in read_records(results):
            pass
    except CorruptResults as exc:
        raise UsageError(f"{flag}: {exc}; repair or remove that line") from None


@contextlib.contextmanager
def supervised(root: Path, results_dir: Path) -> Iterator[None]:
    """Hold the run's lock, end what dead harnesses left, and keep a reaper beside
    this harness for the run (harness.procs.supervise)."""
    lock = lock_run(root)
    previous = os.environ.get(MARK_VAR)
    handlers = _stop_on_signals()
    try:
        end_orphans(results_dir)
        with reaper(install_mark()):
            yield
    finally:
        interrupt.restore(handlers)
        if previous is None:
            os.environ.pop(MARK_VAR, None)
        else:
            os.environ[MARK_VAR] = previous
        lock.close()


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM (a CI timeout, `kill`, a container stop) ends the run as Ctrl-C does: the
    measurement in progress is ended, the results so far kept, resumable. SIGINT is
    handled even when it was ignored: a shell starts background jobs with SIGINT ignored,
    and such a run could otherwise only be killed. Both are kept as well as raised, so
    that a stop is not lost (harness.measure.interrupt). Returns the handlers to put
    back."""
    return interrupt.install([signal.SIGTERM, signal.SIGINT], interrupt.keyboard_interrupt)


def _dry_run(console: Console, units: list[Unit]) -> int:
    table = Table(title=f"{len(units)} measurements")
    table.add_column("#", justify="right")
    table.add_column("scenario id")
    table.add_column("reps", justify="right")
    table.add_column("estimate", justify="right")
    for i, u in enumerate(units, 1):
        est = estimate_s(u.measurement) * u.measurement.repetitions
        table.add_row(str(i), u.scenario_id, str(u.measurement.repetitions), _fmt_s(est))
    setup = setup_estimate_s(u.measurement for u in units)
    if setup:
        what = "set-up: each project's dbt parse, dbt ls and dbt build, once"
        table.add_row("", what, "", _fmt_s(setup))
    total = run_estimate_s([u.measurement for u in units])
    Console().print(table)
    console.print(f"estimated time: {_fmt_s(total)} on a 2-core machine")
    return 0


def _about(units: list[Unit], measuring_s: float) -> str:
    """The time the run should take; the bar advances by measurements, so the shared
    artefacts' set-up is named apart."""
    setup = setup_estimate_s(u.measurement for u in units)
    return f"about {_fmt_s(measuring_s + setup)} (set-up {_fmt_s(setup)})"


def run_with_progress(
    console: Console,
    spec: ScenarioFile,
    units: list[Unit],
    run_dir: RunDir,
    run_id: str,
    shard: tuple[int, int] | None,
    *,
    rerun_failed: bool = False,
) -> int:
    """Execute ``units`` with a progress bar and the time left; the exit code."""
    total = measuring_estimate_s(u.measurement for u in units)
    n_total = sum(u.measurement.repetitions for u in units)
    progress = Progress(
        TextColumn("[bold]{task.fields[n]}/{task.fields[of]}"),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    counter = {"n": 0}
    bar = progress.add_task("starting", total=total, n=0, of=n_total)

    def on_start(unit: Unit, rep: int, weight: float) -> None:
        counter["n"] += 1
        progress.update(
            bar, description=f"{unit.phase} r{rep} {unit.scenario_id[:90]}", n=counter["n"]
        )

    def on_done(record: Record, weight: float) -> None:
        progress.advance(bar, weight)
        m = record.measure
        fig = f"{m.peak_tree_bytes / 2**20:.0f} MiB {m.wall_s:.1f} s" if m else ""
        style = (
            "green" if record.status == "ok" else "yellow" if record.status == "invalid" else "red"
        )
        progress.console.print(f"[{style}]{record.status:8}[/] {fig:>18}  {record.scenario_id}")
        if record.status not in ("ok",) and record.reason:
            progress.console.print(f"         {record.reason[:300]}", markup=False)

    console.print(f"run {run_id}: {n_total} measurements, {_about(units, total)}; results in "
                  f"{run_dir.root}")  # fmt: skip
    try:
        with progress:
            counts = execute(
                spec, units, run_dir, run_id, shard, on_start, on_done,
                rerun_failed=rerun_failed,
                on_note=lambda line: progress.console.print(f"         {line}", markup=False),
            )  # fmt: skip
    except SetupError as exc:
        console.print(f"harness run: set-up failed: {exc}")
        return 1
    except KeyboardInterrupt:
        console.print(
            f"interrupted: what was measured is in {run_dir.root}; continue with "
            f"`harness run --resume {run_id}`"
        )
        return 130
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new"
    console.print(f"done: {summary}; results in {run_dir.root / 'results.jsonl'}")
    return 0
