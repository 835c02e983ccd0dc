"""Nothing outlives a harness run, even a SIGKILLed one.

Two guards. Services start in a process group of their own with a parent-death
signal (:func:`die_with_parent`): the kernel kills their leader when the harness
dies. And a reaper, a small process started beside the harness (:func:`reaper`),
waits on a pipe that only the harness holds: when the pipe closes, because the
harness exited or was killed, it ends every process with the harness's mark
(harness.procs.cleanup) and removes its cgroups.

Run as ``python -m harness.procs.supervise MARK``: the reaper itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil

from harness.measure import cgroupfs
from harness.procs.cleanup import MARK_VAR, cgroup_parents, end_processes, marked_processes

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: the kernel sends SIGKILL to this child when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@contextlib.contextmanager
def reaper(mark: str) -> Iterator[subprocess.Popen[bytes]]:
    """A reaper for this harness for the duration of the block (and after a crash)."""
    env = {k: v for k, v in os.environ.items() if k != MARK_VAR}  # it must not end itself
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.procs.supervise", mark, str(os.getpid())],
        stdin=subprocess.PIPE,
        env=env,
        start_new_session=True,  # Ctrl-C to the harness's group must not reach it
    )
    try:
        yield proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)


def end_cgroups_of(pid: int) -> int:
    """Kill and remove every cgroup named for harness process ``pid``; how many."""
    n = 0
    for parent in cgroup_parents():
        for entry in parent.glob(f"harness-{pid}-*"):
            match = cgroupfs.NAME_RE.match(entry.name)
            if match and entry.is_dir() and cgroupfs.destroy(entry, kill_file=True):
                n += 1
    return n


def _wait_gone(pid: int, timeout_s: float) -> bool:
    """Whether ``pid`` exited (a zombie counts) within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def main(argv: list[str]) -> int:
    """The reaper: block until stdin closes, then end what the harness left."""
    mark, pid = argv[0], int(argv[1])
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    # A harness that closed the pipe to exit cleanly has ended its work already;
    # one that was killed has not. Either way, whatever carries its mark goes.
    end_processes(marked_processes(mark))
    if _wait_gone(pid, timeout_s=10):
        end_cgroups_of(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
