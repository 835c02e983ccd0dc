"""Long-running services measured each in its own cgroup, beside the measured command.

A Celery worker, the broker, the API server: each runs under harness.measure in a
thread of its own until it is stopped, so its peak is its own and never mixed into
another's. Stopping ends its tree (SIGTERM, grace, SIGKILL) and removes its cgroup;
the context manager stops every service on the way out, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.measure import MeasureResult, measure

MIB = 1024 * 1024
STOP_WAIT_S = 60.0
"""How long stopping a service may take: its grace (5 s), SIGKILL and the read-back."""


@dataclass(frozen=True)
class ServiceSpec:
    """One service: its name, command, environment and log."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path
    timeout_s: float
    limit_bytes: int | None = None


class MeasuredService(threading.Thread):
    """One service under harness.measure, from its start until ``end()``."""

    def __init__(self, spec: ServiceSpec) -> None:
        super().__init__(name=f"harness-service-{spec.name}", daemon=True)
        self.spec = spec
        self.stop = threading.Event()
        self.result: MeasureResult | None = None
        self.error: str | None = None

    def run(self) -> None:
        s = self.spec
        try:
            self.result = measure(
                s.cmd,
                env=s.env,
                cwd=s.cwd,
                limit_bytes=s.limit_bytes,
                timeout_s=s.timeout_s,
                stdout=s.log,
                stderr=s.log,
                stop=self.stop,
            )
        except Exception as exc:  # recorded, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"

    def exited(self) -> bool:
        """Whether the service ended (or could not start) before it was stopped."""
        return not self.is_alive()

    def end(self) -> None:
        """Stop the service and wait for its figures."""
        self.stop.set()
        self.join(STOP_WAIT_S)

    def figures(self) -> dict[str, Any]:
        """Its peak, time and status, for the record."""
        r = self.result
        if r is None:
            return {"status": "error", "reason": self.error or "not measured"}
        return {
            "status": r.status,
            "peak_tree_bytes": r.peak_tree_bytes,
            "peak_mib": round(r.peak_tree_bytes / MIB, 1),
            "wall_s": round(r.wall_s, 2),
            "cpu_s": round(r.user_cpu_s + r.system_cpu_s, 2),
            "processes_seen": r.processes_seen,
            "limit_bytes": r.limit_bytes,
            # What the peak held (anonymous memory against page cache and shmem), as the
            # measured tree's record has it: a worker's peak is not all its processes'.
            "memory_stat_near_peak": r.details.get("memory_stat_near_peak"),
            "top_processes": r.details.get("top_processes", [])[:5],
        }


@contextlib.contextmanager
def measured_services(specs: list[ServiceSpec]) -> Iterator[dict[str, MeasuredService]]:
    """Start every service, each measured in its own cgroup; stop them all on exit."""
    started: dict[str, MeasuredService] = {}
    try:
        for spec in specs:
            spec.log.parent.mkdir(parents=True, exist_ok=True)
            service = MeasuredService(spec)
            service.start()
            started[spec.name] = service
        yield started
    finally:
        for service in started.values():
            service.stop.set()
        for service in reversed(started.values()):
            service.end()
