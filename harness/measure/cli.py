"""Run a command; report the peak memory and time of its whole process tree (GNU time for trees).

The summary goes to stderr (or, with --json, the result as JSON to stdout).
Exit code: the command's own; 128+N if signal N ended it (137 after an OOM
kill of the direct child); 124 if the timeout ended it; 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.errors import UsageError
from harness.measure import interrupt
from harness.measure.backends import BACKENDS
from harness.measure.core import DEFAULT_GRACE_S, DEFAULT_INTERVAL_MS, measure
from harness.measure.inputs import (
    MAX_GRACE_S,
    MAX_INTERVAL_MS,
    MAX_LIMIT_BYTES,
    MAX_TIMEOUT_S,
    checked_number,
)
from harness.measure.result import MeasureResult
from harness.paths import check_writable_file

MIB = 1024 * 1024
TIMEOUT_EXIT = 124  # as coreutils timeout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``harness measure``."""
    parser.add_argument("--limit-mib", type=float, metavar="M",
                        help="memory limit of the tree in MiB (enforced by the cgroup)")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="end the whole tree after S seconds (SIGTERM, grace, SIGKILL)")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, metavar="S",
                        help=f"seconds between SIGTERM and SIGKILL (default {DEFAULT_GRACE_S:g})")
    parser.add_argument("--interval-ms", type=float, default=DEFAULT_INTERVAL_MS, metavar="MS",
                        help=f"poll interval of the sample backend (default "
                             f"{DEFAULT_INTERVAL_MS:g}); beside a cgroup the per-process "
                             "figures are polled every 100 ms or this, whichever is longer")
    parser.add_argument("--backend", default="auto", metavar="NAME",
                        help=f"auto (default: the best available), {', '.join(BACKENDS)}")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON on stdout instead of the summary")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="also write the result as JSON to FILE")
    # dest "cmd": the top-level parser keeps the subcommand's name in "command"
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                        help="the command to run and measure")


class _Terminated(SystemExit):
    """SIGTERM to the harness: unwind through measure()'s cleanup, exit 143."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)


def exit_code_of(result: MeasureResult) -> int:
    """The CLI's exit code for a result (see the module docstring)."""
    if result.status == "timeout":
        return TIMEOUT_EXIT
    if result.exit_code is None:
        return 1
    if result.exit_code < 0:
        return 128 - result.exit_code
    return result.exit_code


def _mib(n: int) -> str:
    return f"{n / MIB:,.1f} MiB"


def summary(result: MeasureResult) -> Table:
    """A short table of the result, like GNU time's summary."""
    exit_text = "?" if result.exit_code is None else str(result.exit_code)
    table = Table.grid(padding=(0, 2))
    table.title = f"{result.backend} · {result.status} · exit {exit_text}"
    table.title_justify = "left"
    table.add_column(style="bold")
    table.add_column()
    table.add_row("wall", f"{result.wall_s:.3f} s")
    table.add_row("cpu", f"{result.user_cpu_s:.3f} s user, {result.system_cpu_s:.3f} s system")
    table.add_row("peak (tree)", _mib(result.peak_tree_bytes))
    table.add_row("largest process", _mib(result.peak_single_bytes))
    table.add_row("processes", str(result.processes_seen))
    if result.limit_bytes is not None:
        table.add_row("limit", _mib(result.limit_bytes))
    cost = result.details.get("sampler_cpu_s")
    if isinstance(cost, float) and result.wall_s > 0:
        share = 100 * cost / result.wall_s
        every = result.details.get("interval_ms")
        table.add_row("measuring cost",
                      f"{cost * 1000:.1f} ms cpu ({share:.2f}% of a core), polls every {every} ms")
    return table


def _check_flags(args: argparse.Namespace) -> int | None:
    """Every number and the output path, before the command runs; the limit in bytes."""
    limit_mib = checked_number(args.limit_mib, "--limit-mib", MAX_LIMIT_BYTES / MIB)
    checked_number(args.timeout, "--timeout", MAX_TIMEOUT_S)
    checked_number(args.grace, "--grace", MAX_GRACE_S, zero_ok=True)
    checked_number(args.interval_ms, "--interval-ms", MAX_INTERVAL_MS)
    if args.output is not None:
        check_writable_file("-o", args.output)
    return None if limit_mib is None else int(limit_mib * MIB)


def run(args: argparse.Namespace) -> int:
    """Measure the command; print the summary or JSON; return the exit code."""
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":  # argparse keeps the "--" in a REMAINDER
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; put it after --, e.g. harness measure -- sleep 1")
    limit = _check_flags(args)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = interrupt.install([signal.SIGTERM], _Terminated)
        previous.update(interrupt.install([signal.SIGINT], interrupt.keyboard_interrupt))
    try:
        result = measure(
            cmd,
            limit_bytes=limit,
            timeout_s=args.timeout,
            interval_ms=args.interval_ms,
            backend=args.backend,
            grace_s=args.grace,
            # --json: stdout is the JSON's alone; the command's own output goes to stderr.
            stdout=Path("/dev/stderr") if args.json else None,
        )
    finally:
        if previous is not None:
            interrupt.restore(previous)
    text = json.dumps(result.to_dict(), indent=2)
    # The result is shown before -o is written: a write that fails now (a full disk;
    # everything else was checked before the command ran) must not lose it.
    if args.json:
        try:
            print(text, flush=True)
        except BrokenPipeError:  # `| head`: the reader left; not an error of the measurement
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
    else:
        Console(file=sys.stderr, highlight=False).print(summary(result))
    if args.output is not None:
        write_output(args.output, text + "\n")
    return exit_code_of(result)


def write_output(path: Path, text: str) -> None:
    """-o, after the result is shown: a failure here (a disk that filled while the
    command ran) is one line that says the result is above."""
    try:
        path.write_text(text)
    except OSError as exc:
        raise UsageError(f"-o: cannot write {path}: {exc.strerror} (the result is "
                         "printed above)") from None  # fmt: skip
