"""cgroup v2 backend: a child cgroup of the unified hierarchy per measurement.

Written against Documentation/admin-guide/cgroup-v2.rst. Peak: ``memory.peak``
(kernel 5.19+), the high-water mark of ``memory.current`` since the cgroup was
made; on older kernels ``memory.current`` is read at every poll instead (a
sampled peak, named in details). Like v1 it counts page cache charged to the
group; ``memory.stat`` anon and file are recorded at the end and near the peak.
Limit: ``memory.max`` (and ``memory.swap.max`` 0, so the limit is not dodged by
swapping). OOM: ``oom_kill`` of ``memory.events``. CPU: ``user_usec`` and
``system_usec`` of ``cpu.stat``, present in every cgroup whether or not the cpu
controller is enabled. Kill: ``cgroup.kill`` (5.14+) ends the whole group at
once, with no race against forks.

Available when the hierarchy's root lists ``memory`` in cgroup.controllers, has
it (or can be given it) in cgroup.subtree_control, and a child can be made.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from harness.measure import cgroupfs
from harness.measure.cgroupfs import (
    SIDE_INTERVAL_S,
    BackendUnavailable,
    Cgroup,
    read_keyed,
    read_text,
    write_text,
)

STAT_KEYS = ("anon", "file", "kernel", "shmem", "sock", "file_mapped")


PARENT_ENV = "HARNESS_CGROUP2_PARENT"
"""A delegated cgroup to make measurement cgroups under, instead of the hierarchy's root."""


def _parent() -> Path:
    """The cgroup under which measurement cgroups are made, memory controller delegated.

    The hierarchy's root, or the cgroup named by HARNESS_CGROUP2_PARENT (a
    delegated subtree: its parent must list memory in cgroup.subtree_control,
    it must hold no process itself, and the harness must run inside it, since
    moving a process needs write access to cgroup.procs of the common ancestor).
    """
    root = cgroupfs.v2_mount()
    if root is None:
        raise BackendUnavailable("no cgroup v2 hierarchy is mounted")
    chosen = os.environ.get(PARENT_ENV)
    parent = Path(chosen) if chosen else root
    if chosen and not (parent.is_dir() and parent.resolve().is_relative_to(root.resolve())):
        raise BackendUnavailable(f"{PARENT_ENV}={chosen} is not a cgroup under {root}")
    try:
        controllers = read_text(parent / "cgroup.controllers").split()
    except OSError as exc:
        raise BackendUnavailable(f"cannot read {parent}/cgroup.controllers: {exc}") from exc
    if "memory" not in controllers:
        raise BackendUnavailable(
            f"{parent} cannot have the memory controller: it is not in the "
            f"cgroup.subtree_control of {parent.parent}"
            if chosen
            else f"the cgroup v2 hierarchy at {root} has no memory controller "
            "(it is bound to cgroup v1 here)"
        )
    if not os.access(parent / "cgroup.procs", os.W_OK):
        raise BackendUnavailable(f"{parent} is not writable (run as root, or delegate it)")
    subtree = parent / "cgroup.subtree_control"
    try:
        if "memory" not in read_text(subtree).split():
            # The root may hold processes and still delegate; a non-root cgroup with
            # processes cannot ("no internal processes"): the write then fails (EBUSY).
            write_text(subtree, "+memory")
    except OSError as exc:
        raise BackendUnavailable(f"cannot enable memory in {subtree}: {exc}") from exc
    return parent


def probe() -> None:
    """Raise BackendUnavailable unless a child cgroup with memory.max can be made here."""
    cgroupfs.probe_child(_parent(), "memory.max")


class CgroupV2(Cgroup):
    """A cgroup v2 named ``harness-<pid>-<n>`` under the hierarchy's root (or the
    delegated parent of HARNESS_CGROUP2_PARENT)."""

    backend = "cgroup2"
    kill_file = True
    cpu_source = "cpu.stat"
    usage_file = "memory.current"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.has_peak_file = (directory / "memory.peak").exists()
        self._next_stat = 0.0
        self._current_max = 0
        self._max_seen_slow = -1
        self._stat_near_peak: dict[str, int] = {}

    @classmethod
    def create(cls, limit_bytes: int | None) -> CgroupV2:
        """Make the cgroup and set the limit; BackendUnavailable if that fails."""
        parent = _parent()
        cgroupfs.clean_stale_once(parent)
        directory = parent / cgroupfs.new_name()
        try:
            directory.mkdir()
        except OSError as exc:
            raise BackendUnavailable(f"cannot create {directory}: {exc.strerror}") from exc
        group = cls(directory)
        try:
            if limit_bytes is not None:
                write_text(directory / "memory.max", str(limit_bytes))
                swap = directory / "memory.swap.max"
                if swap.exists():
                    with contextlib.suppress(OSError):
                        write_text(swap, "0")
        except BaseException:
            group.remove()
            raise
        return group

    def poll_interval_s(self, requested_s: float) -> float:
        """The requested interval where memory.current must be sampled for the peak."""
        return super().poll_interval_s(requested_s) if self.has_peak_file else requested_s

    def on_poll(self) -> None:
        """memory.current at every poll when memory.peak is missing; memory.stat near the peak
        every SIDE_INTERVAL_S."""
        now = time.monotonic()
        slow = now >= self._next_stat
        if slow:
            self._next_stat = now + SIDE_INTERVAL_S
        if self.has_peak_file and not slow:
            return
        with contextlib.suppress(OSError, ValueError):
            current = self.usage_bytes()
            self._current_max = max(self._current_max, current)
            if slow and current > self._max_seen_slow:
                self._max_seen_slow = current
                self._stat_near_peak = self._stat()

    def _stat(self) -> dict[str, int]:
        stat = read_keyed(self.directory / "memory.stat")
        return {k: stat[k] for k in STAT_KEYS if k in stat}

    def peak_bytes(self) -> int:
        """memory.peak; the largest memory.current seen if the kernel has no memory.peak."""
        if self.has_peak_file:
            return int(read_text(self.directory / "memory.peak").split()[0])
        with contextlib.suppress(OSError, ValueError):
            self._current_max = max(
                self._current_max, self.usage_bytes()
            )
        return self._current_max

    def oom_kills(self) -> int | None:
        """``oom_kill`` of memory.events."""
        return read_keyed(self.directory / "memory.events").get("oom_kill")

    def cpu_times(self) -> tuple[float, float] | None:
        """user_usec / system_usec of cpu.stat."""
        stat = read_keyed(self.directory / "cpu.stat")
        if "user_usec" in stat and "system_usec" in stat:
            return stat["user_usec"] / 1e6, stat["system_usec"] / 1e6
        return None

    def details(self) -> dict[str, object]:
        """Path, peak source, memory.stat at the end and near the peak, memory.events."""
        return {
            "cgroup": str(self.directory),
            "peak_source": "memory.peak" if self.has_peak_file else "memory.current sampled",
            "memory_stat_end": self._stat(),
            "memory_stat_near_peak": self._stat_near_peak,
            "memory_events": read_keyed(self.directory / "memory.events"),
            "oom_kills": self.oom_kills(),
        }
