"""The machine's load during one measurement, and whether it was too busy to trust.

A measurement's time (and, through page cache and reclaim, its memory) depends
on what else ran meanwhile, so every result carries:

- the 1-minute load average at the start and at the end (``os.getloadavg``);
- CPU steal: the share of all CPU time the hypervisor gave to other guests
  (the ``steal`` column of /proc/stat, via psutil.cpu_times; None where the
  kernel does not report it);
- other processes' CPU: the machine's non-idle CPU time over the interval
  (user, nice, system, irq, softirq of /proc/stat; guest is inside user) minus
  the measured tree's own CPU, this harness process's (its sampler and
  waiter threads), and that of the other trees this process runs meanwhile
  (``harness_trees_cpu_s``: the Celery workers, broker and servers of a DAG run,
  measured in cgroups, and the LocalExecutor's API server and triggerer, plain
  processes read by psutil, are part of the run, not load on it). In core-seconds, and per second
  of the interval: 1.0 is one core kept busy by something else the whole time.

Busy rule (:data:`BUSY_OTHER_CORES`, :data:`BUSY_STEAL`): other processes used
more than half a core on average, or more than 5% of the CPU time was stolen.
Either means the measured tree competed for CPU, so its wall time is not the
quiet machine's.

Precision: /proc/stat counts in ticks of 10 ms per CPU, and the tree's CPU
comes from another counter (cgroup, wait4 or sampling), so the figure is good
to a few hundredths of a core-second plus whatever the tree's CPU figure
misses; it is never reported below zero.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import psutil

BUSY_OTHER_CORES = 0.5
"""Other processes' average CPU, in cores, above which a measurement is marked busy."""
BUSY_STEAL = 0.05
"""Share of CPU time stolen by the hypervisor above which a measurement is marked busy."""


@dataclass(frozen=True)
class MachineLoad:
    """What else the machine did while one measurement ran (see the module docstring)."""

    loadavg_1m_start: float
    """1-minute load average just before the command started."""
    loadavg_1m_end: float
    """1-minute load average just after the tree ended."""
    interval_s: float
    """Seconds between the two readings of /proc/stat."""
    cpus: int
    """Logical CPUs of the machine."""
    other_cpu_s: float
    """CPU seconds used by everything but the tree and the harness over the interval."""
    other_cores: float
    """``other_cpu_s`` per second of the interval: the average number of cores in use."""
    steal_share: float | None
    """Share of all CPU time stolen by the hypervisor (None: the kernel does not say)."""
    busy: bool
    """True when ``other_cores`` > BUSY_OTHER_CORES or ``steal_share`` > BUSY_STEAL."""
    harness_trees_cpu_s: float | None = None
    """CPU seconds of the other trees this harness measured in cgroups over the interval
    (left out of ``other_cpu_s``); None in records made before it was counted, whose
    ``other_cpu_s`` includes them."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MachineLoad:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


CpuReader = Callable[[], float | None]
"""Reads a measured tree's cumulative CPU seconds (None: its cgroup cannot say)."""


class _Trees:
    """The cumulative CPU of every tree this process measures in a cgroup, live or
    ended, so that a measurement can tell its siblings' CPU from other load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[object, CpuReader] = {}
        self._ended_s = 0.0

    def add(self, key: object, read: CpuReader) -> None:
        with self._lock:
            self._live[key] = read

    def end(self, key: object) -> None:
        # Its final CPU stays in the sum, so an interval it ended in still counts it.
        with self._lock:
            read = self._live.pop(key, None)
            self._ended_s += (read() or 0.0) if read else 0.0

    def cpu_s(self, exclude: object) -> float:
        with self._lock:
            live = sum((r() or 0.0) for k, r in self._live.items() if k is not exclude)
            return self._ended_s + live


TREES = _Trees()
"""Every tree measure() runs in a cgroup registers here while its cgroup exists, and
every service the harness starts outside one while it runs (:func:`process_tree_cpu`)."""


def process_tree_cpu(pid: int) -> CpuReader:
    """A reader of the cumulative CPU of a process outside any cgroup and its descendants:
    their own seconds and those of the children they reaped. A lower bound (a descendant
    reaped by no one in the tree takes its seconds with it), never decreasing; after the
    process is gone it gives its last reading."""
    last = 0.0
    try:
        root: psutil.Process | None = psutil.Process(pid)
    except psutil.NoSuchProcess:
        root = None

    def read() -> float | None:
        nonlocal last
        try:
            if root is None:
                return last
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return last
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        last = max(last, total)
        return last

    return read


def _busy_s(t: Any) -> float:
    # iowait is idle time; steal is not ours to use; guest is already inside user/nice.
    return float(t.user + t.nice + t.system + t.irq + t.softirq)


def _total_s(t: Any) -> float:
    return float(sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0))


def _self_cpu_s() -> float:
    times = os.times()  # this process, every thread; not its children (the tree)
    return times.user + times.system


class LoadProbe:
    """Reads the machine's counters when made and at :meth:`stop`; :meth:`result` gives
    the load between the two. ``tree``: the measured tree's key in TREES, if any."""

    def __init__(self, tree: object = None) -> None:
        self._tree = tree
        self._start = time.monotonic()
        self._loadavg = os.getloadavg()[0]
        self._cpu = psutil.cpu_times()
        self._self = _self_cpu_s()
        self._siblings = TREES.cpu_s(exclude=tree)
        self._end: tuple[float, float, Any, float, float] | None = None

    def stop(self) -> None:
        """Read the counters again: the tree has ended."""
        self._end = (
            time.monotonic(), os.getloadavg()[0], psutil.cpu_times(), _self_cpu_s(),
            TREES.cpu_s(exclude=self._tree),
        )  # fmt: skip

    def result(self, tree_cpu_s: float) -> MachineLoad:
        """The load over the interval, given the measured tree's CPU seconds in it."""
        if self._end is None:
            self.stop()
        assert self._end is not None
        end, loadavg, cpu, self_cpu, siblings = self._end
        interval = max(end - self._start, 1e-9)
        own = self_cpu - self._self
        trees = max(0.0, siblings - self._siblings)
        other = max(0.0, _busy_s(cpu) - _busy_s(self._cpu) - tree_cpu_s - own - trees)
        steal: float | None = None
        if hasattr(cpu, "steal"):
            total = _total_s(cpu) - _total_s(self._cpu)
            steal = (cpu.steal - self._cpu.steal) / total if total > 0 else 0.0
        cores = other / interval
        return MachineLoad(
            loadavg_1m_start=round(self._loadavg, 2),
            loadavg_1m_end=round(loadavg, 2),
            interval_s=round(interval, 3),
            cpus=psutil.cpu_count() or 1,
            other_cpu_s=round(other, 3),
            other_cores=round(cores, 3),
            steal_share=None if steal is None else round(steal, 4),
            busy=cores > BUSY_OTHER_CORES or (steal is not None and steal > BUSY_STEAL),
            harness_trees_cpu_s=round(trees, 3),
        )
