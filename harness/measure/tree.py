"""Ending a whole process tree: SIGTERM to every process, a grace, then SIGKILL until none is left.

Who "every process" is depends on the backend: the members of the cgroup
(exact: a process that setsid()s or double-forks is still a member), or, for
sampling, every process the sampler has seen and not yet seen reaped plus the
process group of the direct child (started with start_new_session=True, so the
group is the tree's own).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.measure.cgroupfs import Cgroup
from harness.measure.sampler import Sampler

_POLL_S = 0.02
KILL_WAIT_S = 10.0
"""How long SIGKILL is repeated before giving up on a process (one stuck in D state)."""


@dataclass
class KillReport:
    """What ending the tree took."""

    sigterm_sent: int = 0
    sigkill_sent: int = 0
    survivors: bool = False
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain dict for MeasureResult.details."""
        return {
            "sigterm_sent": self.sigterm_sent,
            "sigkill_sent": self.sigkill_sent,
            "survivors": self.survivors,
            "seconds": round(self.seconds, 3),
            "reasons": list(self.reasons),
        }


class TreeKiller:
    """Signals the whole tree of one measurement."""

    def __init__(self, pgid: int, sampler: Sampler | None, group: Cgroup | None) -> None:
        self.pgid = pgid
        self.sampler = sampler
        self.group = group
        self.report = KillReport()

    def signal_all(self, sig: int) -> int:
        """Send ``sig`` to every process of the tree; how many got it."""
        if self.group is not None:
            return self.group.signal_all(sig)
        n = self.sampler.signal_all(sig) if self.sampler is not None else 0
        # The process group catches a fork the sampler has not seen yet (harmless if empty).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)
        return n

    def count_alive(self) -> int:
        """How many processes of the tree are still running."""
        if self.group is not None:
            return len(self.group.pids())
        if self.sampler is not None:
            return self.sampler.count_alive()
        try:  # no sampler yet: the process group is all we know of
            os.killpg(self.pgid, 0)
        except (ProcessLookupError, PermissionError):
            return 0
        return 1

    def alive(self) -> bool:
        """Whether any process of the tree is still running."""
        return self.count_alive() > 0

    def _wait_gone(self, seconds: float, resend: Callable[[], None] | None = None) -> bool:
        deadline = time.monotonic() + seconds
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)
            if resend is not None:
                resend()
        return True

    def terminate(self, grace_s: float, reason: str) -> None:
        """SIGTERM, up to ``grace_s`` for the tree to end, then SIGKILL until it has."""
        t0 = time.monotonic()
        self.report.reasons.append(reason)
        if not self.alive():
            return
        self.report.sigterm_sent += self.signal_all(signal.SIGTERM)
        if not self._wait_gone(grace_s):
            self.kill()
        self.report.seconds += time.monotonic() - t0

    def kill(self, reason: str | None = None) -> None:
        """SIGKILL, repeated until no process of the tree is left (or KILL_WAIT_S)."""
        if reason is not None:
            self.report.reasons.append(reason)

        def resend() -> None:
            self.report.sigkill_sent += self.signal_all(signal.SIGKILL)

        resend()
        if not self._wait_gone(KILL_WAIT_S, resend):
            self.report.survivors = True
