"""Waiting for a measured command: reaping it (wait4) and waiting for its end, the
timeout or the caller's stop."""

from __future__ import annotations

import os
import threading
import time
from typing import Any


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
        try:
            _, self.status, self.rusage = os.wait4(self.pid, 0)
        except ChildProcessError:  # reaped by someone else (a waitpid(-1) elsewhere)
            pass
        finally:
            self.end = time.perf_counter()
            self.done.set()


def wait_end(waiter: Waiter, timeout_s: float | None, stop: threading.Event | None) -> bool:
    """Wait for the command to end, the timeout or ``stop``; whether ``stop`` came first."""
    if stop is None:
        waiter.done.wait(timeout_s)
        return False
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not waiter.done.is_set():
        if stop.is_set():
            return True
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        waiter.done.wait(0.2 if left is None else min(0.2, left))
    return False
