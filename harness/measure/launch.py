"""Starting the command: its output files, joining the cgroup before exec, reaping it.

Why preexec_fn, despite its warning about threads: it is the only race-free way
to have the process inside the cgroup before it execs, and the function run
there makes only os-level calls (open, write, close) that take no lock another
thread could hold at fork time.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from harness.errors import UsageError
from harness.measure.cgroupfs import Cgroup
from harness.measure.interrupt import raise_pending


class MeasureError(RuntimeError):
    """The harness could not measure (not bad input): e.g. joining the cgroup failed."""


def _preexec(paths: list[str], raise_oom_score: bool) -> Callable[[], None]:
    """The function the forked child runs before exec: join the cgroup(s)."""
    encoded = [os.fsencode(p) for p in paths]

    def enter() -> None:
        # In the child between fork and exec: only plain os calls, no Python-level locks.
        for path in encoded:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")  # "0" means the writing process (v1 and v2)
            finally:
                os.close(fd)
        if raise_oom_score:
            # An unkillable (-1000) tree would hang at the limit instead of being OOM-killed.
            fd = os.open(b"/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    return enter


def _oom_score_adj() -> int:
    try:
        with open("/proc/self/oom_score_adj") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


class Waiter(threading.Thread):
    """Reaps the direct child with wait4: exit status, rusage and the exact end time."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="harness-wait4", daemon=True)
        self.pid = pid
        self.status: int | None = None
        self.rusage: Any = None
        self.end: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        """Block in wait4 until the child ends; record how."""
        try:
            _, self.status, self.rusage = os.wait4(self.pid, 0)
        except ChildProcessError:  # reaped by someone else (a waitpid(-1) elsewhere)
            pass
        finally:
            self.end = time.perf_counter()
            self.done.set()


def _open_output(stack: ExitStack, path: Path | None, what: str) -> IO[bytes] | None:
    # Appended to (O_APPEND), so a log the caller started is kept and both streams
    # can share one file without overwriting each other.
    if path is None:
        return None
    try:
        return stack.enter_context(open(path, "ab"))
    except OSError as exc:
        raise UsageError(f"cannot write the command's {what} to {path}: {exc.strerror}") from exc


def start(
    argv: list[str],
    group: Cgroup | None,
    limit_bytes: int | None,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    stdout: Path | None,
    stderr: Path | None,
) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``argv`` in a new session (inside ``group`` from before its exec); the
    process and the perf_counter time just before the fork.

    Raises UsageError if the command cannot be run or an output file cannot be
    written, MeasureError if the child could not join the cgroup.
    """
    preexec = None
    if group is not None:
        preexec = _preexec(group.enter_paths(), limit_bytes is not None and _oom_score_adj() < 0)
    with ExitStack() as stack:
        out = _open_output(stack, stdout, "stdout")
        same = stdout is not None and stderr is not None and Path(stdout) == Path(stderr)
        err = out if same else _open_output(stack, stderr, "stderr")  # one file: like 2>&1
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group; Ctrl-C reaches only us
                preexec_fn=preexec,
            )
        except subprocess.SubprocessError as exc:  # preexec failed: could not join the cgroup
            where = group.directory if group is not None else "?"
            raise MeasureError(f"could not start {argv[0]} inside {where}: {exc}") from exc
        except OSError as exc:  # the exec failed: nothing ran, nothing was measured
            raise UsageError(cannot_run(argv[0], exc, cwd)) from None
    return proc, t0


def cannot_run(exe: str, exc: OSError, cwd: Path | None = None) -> str:
    """Why the kernel would not exec ``exe``, in one line: a script without an
    interpreter line (ENOEXEC), or one whose interpreter does not exist (ENOENT)."""
    path = Path(cwd or ".") / exe if os.sep in exe else None
    if exc.errno == errno.ENOEXEC:
        return (f"cannot run {exe}: not a program the kernel can start (a script needs an "
                "interpreter line such as #!/bin/sh)")  # fmt: skip
    if exc.errno == errno.ENOENT and path is not None and path.is_file():
        try:
            with path.open("rb") as fh:
                first = fh.readline(4096)
        except OSError:
            first = b""
        if first.startswith(b"#!"):
            interpreter = first[2:].decode(errors="replace").split()
            named = interpreter[0] if interpreter else "(none)"
            return f"cannot run {exe}: its interpreter line names {named}, which does not exist"
    return f"cannot run {exe}: {exc.strerror}"


def wait_end(waiter: Waiter, timeout_s: float | None, stop: threading.Event | None) -> bool:
    """Wait for the command to end, the timeout or ``stop``; whether ``stop`` came first.
    A stop signal whose exception was lost is raised again here (harness.measure.interrupt)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not waiter.done.is_set():
        raise_pending()
        if stop is not None and stop.is_set():
            return True
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        waiter.done.wait(0.2 if left is None else min(0.2, left))
    return False
