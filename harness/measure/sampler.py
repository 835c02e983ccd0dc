"""A thread that polls the processes of the tree from /proc.

For the ``sample`` backend it is the measurement; for the cgroup backends it
only supplies the per-process figures a cgroup does not keep (the largest
single process, how many processes were seen) while the cgroup gives the peak.

Each poll (every ``interval_s``, 10 ms by default) reads, for every live
process of the tree, the pinned ``/proc/<pid>/statm`` (RSS), and its children
file only when the kernel handed out a pid since the last poll (the last field
of ``/proc/loadavg``: no new pid, no new child); a poll every
``FULL_INTERVAL_S`` (200 ms) also reads ``stat`` (CPU ticks, state, flags,
threads, page faults) and, when the process faulted pages in since it was last
read, ``status`` (VmHWM). Pinned files are re-read with pread, about a
microsecond each: the sampler's cost is dominated by its thread waking up
(30-40 us of CPU a wake-up in this VM), plus about 1 us a process a poll and
10 us a process a full poll. :attr:`Sampler.cpu_s` is what it took, measured.

The tree is the root and its descendants found through
``/proc/<pid>/task/<tid>/children`` (the main thread's at every poll, every
thread's at full polls) and, for the cgroup backends, the members of the cgroup
at full polls (``cgroup.procs``: exact, a setsid() or double fork cannot leave
it, but costly to open 100 times a second). Every process once seen stays
tracked until it is reaped, so one that is orphaned or daemonizes itself is
still measured and still killed.

What it gives, and its limits:

- ``peak_rss_sum_bytes``: the largest sum of RSS over the tree at one poll.
  Misses what rises and falls between two polls, and counts pages shared
  between processes (libraries, fork()ed copy-on-write memory) once per
  process; a fork()ed child that has not exec()ed yet joins the sum only once it
  has lived ``FORK_SETTLE_S`` (records.py says why).
- ``peak_pss_sum_bytes``: the sum of PSS (shared pages split between their
  users) every ``pss_interval_s``, or less often when the reads would take more
  than ``PSS_BUDGET`` of a core: smaps_rollup walks the page tables.
- per process, VmHWM: see records.py (spikes shorter than the interval, execs).
- CPU: the last-read utime/stime of every process seen (at most one full-poll
  interval short per process; processes that live less than an interval are
  missed).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness.measure.per_process import (
    FORK_SETTLE_S,
    ProcRecord,
    cpu_times,
    peak_single_bytes,
    top_processes,
)
from harness.measure.polling import PollingThread
from harness.measure.procfs import (
    PAGE_SIZE,
    NewestPid,
    ProcessGone,
    ProcHandle,
    parse_pids,
    read_all,
)

FULL_INTERVAL_S = 0.2
"""How often a poll also reads stat and status (CPU, state, VmHWM): every 20th at 10 ms.
The other polls read only statm (RSS), the cheapest file."""
PSS_BUDGET = 0.001
"""Share of one core the PSS reads may take: smaps_rollup walks the page tables (about
1 ms for a 400 MiB process here), so for big trees PSS is read less often than asked."""


class Sampler(PollingThread):
    """Polls one process tree in a background thread (see the module docstring)."""

    def __init__(
        self,
        root_pid: int,
        *,
        interval_s: float,
        cgroup_procs: Path | None = None,
        pss_interval_s: float | None = None,
        limit_bytes: int | None = None,
        on_limit: Callable[[], None] | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(interval_s, "harness-sampler")
        self.root_pid = root_pid
        self.pss_interval_s = pss_interval_s
        self.pss_reads = 0
        self.pss_cpu_s = 0.0
        self.pss_max_read_s = 0.0  # the dearest single read: the budget pays it afterwards
        self._next_pss = 0.0
        self.full_every = max(1, round(FULL_INTERVAL_S / interval_s))
        self.limit_bytes = limit_bytes
        self.on_limit = on_limit
        self.on_poll = on_poll
        self.peak_rss_sum_bytes = 0
        self.peak_pss_sum_bytes: int | None = None
        self.polls = 0
        self.limit_hit = False
        self.cgroup_procs = cgroup_procs
        self._live: dict[int, tuple[ProcHandle, ProcRecord]] = {}
        self._records: list[ProcRecord] = []
        self._lock = threading.RLock()
        self._children_raw: dict[int, bytes] = {}
        self._fast: list[tuple[int, int, bytes]] = []
        self._young_until = 0.0
        self._cpu_other_threads_s = 0.0
        self._newest = NewestPid()
        # The newest pid when a search of the tree last found nothing new: the main
        # threads' children files (_last_pid), or every thread's and the cgroup's
        # members too (_last_full_pid). While it stands, nothing new can exist.
        self._last_pid = b""
        self._last_full_pid = b""
        self._track(root_pid)
        self.poll_once(full=True)  # at once: a short command may be gone by the first tick

    def stop(self) -> None:
        """Stop polling (after one last poll) and close every pinned file."""
        self._stop_thread()
        with self._lock:
            with contextlib.suppress(Exception):
                self.poll_once(full=True)
            for handle, _ in self._live.values():
                handle.close()
            self._live.clear()
            self._fast = []  # their file descriptors are closed (and may be reused)
            self._newest.close()

    # -- polling ---------------------------------------------------------------

    def _track(self, pid: int) -> None:
        try:
            handle = ProcHandle(pid)
        except ProcessGone:
            return
        record = ProcRecord(pid=pid, ppid=0, name="", first_seen=time.monotonic())
        self._live[pid] = (handle, record)
        self._records.append(record)

    def _read_procs(self) -> bytes:
        # Reopened each time: a v1 cgroup.procs kept open serves the pid list it
        # loaded first for as long as it is read again within a second. os-level
        # calls: a buffered open() costs several times more.
        assert self.cgroup_procs is not None
        fd = os.open(self.cgroup_procs, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return read_all(fd)
        finally:
            os.close(fd)

    def _search(self, full: bool) -> None:
        """Track the pids that joined the tree: children of live ones, and on a
        full poll every thread's children and the cgroup's members (which catch
        what escaped the walk: a daemon reparented to init before it was seen).

        Skipped while no pid was handed out since a search found nothing new:
        the tree cannot have grown. Multi-threaded processes (Airflow's) make
        the full search cost an open() per thread, so this matters.
        """
        newest = self._newest.read()
        if newest and newest == (self._last_full_pid if full else self._last_pid):
            return
        found: set[int] = set()
        self._children_raw = {}
        for pid, (handle, record) in self._live.items():
            raw = handle.children_raw()
            self._children_raw[pid] = raw
            found.update(parse_pids(raw))
            if full and record.threads > 1:  # children forked by other threads
                found.update(handle.all_children())
        if full and self.cgroup_procs is not None:
            with contextlib.suppress(OSError):
                found.update(parse_pids(self._read_procs()))
        new = found - self._live.keys()
        for pid in new:
            self._track(pid)
        if not new:  # the new ones' own children are searched at the next poll
            self._last_pid = newest
            if full:
                self._last_full_pid = newest

    def _fast_poll(self) -> int | None:
        """Sum of RSS if the tree is as the last general poll left it, else None.

        The hot path, 100 times a second: one pread of statm a process, plus one
        of its children file when a process was made anywhere since the last
        poll; no objects kept. Any change (a new child, a member gone) sends the
        caller to the general poll.
        """
        pread = os.pread
        newest = self._newest.read()
        forked = not newest or newest != self._last_pid
        pages = 0
        try:
            for statm_fd, children_fd, children_raw in self._fast:
                pages += int(pread(statm_fd, 128, 0).split(None, 2)[1])
                if forked and children_fd >= 0 and pread(children_fd, 4096, 0) != children_raw:
                    return None
        except (OSError, IndexError, ValueError):
            return None
        self._last_pid = newest
        return pages * PAGE_SIZE

    def _general_poll(self, full: bool, now: float) -> int:
        """Find the tree's members, read each (fully if ``full``); the RSS sum."""
        self._search(full)
        rss_sum = 0
        for pid, (handle, record) in list(self._live.items()):
            try:
                if full or now - record.first_seen < FORK_SETTLE_S:
                    rss_sum += record.read(handle, now)
                else:
                    rss_sum += handle.rss_bytes()
            except ProcessGone:
                handle.close()
                del self._live[pid]
        self._fast = [
            (h.statm_fd, h.children_fd, self._children_raw.get(pid, b""))
            for pid, (h, _) in self._live.items()
        ]
        newest = max((r.first_seen for _, r in self._live.values()), default=0.0)
        self._young_until = newest + FORK_SETTLE_S
        return rss_sum

    def poll_once(self, full: bool | None = None) -> None:
        """Read every live process once; update peaks, records and the limit check.

        Every ``full_every``-th poll (or ``full=True``) is a full read (stat and
        status: CPU, state, VmHWM, exec); the others read only statm (RSS), the
        cheapest file, through the fast path while the tree does not change.
        Called from another thread than the sampler's, its CPU time is added to
        :attr:`cpu_s`.
        """
        if threading.current_thread() is self._thread:  # its CPU is already counted
            self._poll(full)
            return
        start = time.thread_time()
        try:
            self._poll(full)
        finally:
            self._cpu_other_threads_s += time.thread_time() - start

    def _poll(self, full: bool | None = None) -> None:
        with self._lock:
            if full is None:
                full = self.polls % self.full_every == 0
            now = time.monotonic()
            rss_sum = None
            if not full and now >= self._young_until:
                rss_sum = self._fast_poll()
            if rss_sum is None:
                rss_sum = self._general_poll(full, now)
            self.peak_rss_sum_bytes = max(self.peak_rss_sum_bytes, rss_sum)
            if self.pss_interval_s is not None and now >= self._next_pss:
                self._read_pss(now)
            self.polls += 1
        if self.on_poll is not None:
            self.on_poll()
        if self.limit_bytes is not None and not self.limit_hit and rss_sum > self.limit_bytes:
            self.limit_hit = True
            if self.on_limit is not None:
                self.on_limit()

    def _read_pss(self, now: float) -> None:
        """Sum PSS over the tree; the next read waits until these reads fit PSS_BUDGET."""
        assert self.pss_interval_s is not None
        start = time.thread_time()
        pss = [h.pss_bytes() for h, _ in self._live.values()]
        total = sum(p for p in pss if p is not None)
        self.peak_pss_sum_bytes = max(self.peak_pss_sum_bytes or 0, total)
        self.pss_reads += 1
        cost = time.thread_time() - start
        self.pss_cpu_s += cost
        self.pss_max_read_s = max(self.pss_max_read_s, cost)
        self._next_pss = now + max(self.pss_interval_s, cost / PSS_BUDGET)

    # -- for the killer --------------------------------------------------------

    def signal_all(self, sig: int) -> int:
        """Find the current tree, then signal every live, non-zombie process of it."""
        with self._lock:
            self.poll_once(full=True)
            n = 0
            for handle, record in list(self._live.values()):
                if record.state != "Z" and handle.send_signal(sig):
                    n += 1
            return n

    def count_alive(self) -> int:
        """How many processes of the tree are still running (zombies count as ended)."""
        with self._lock:
            self.poll_once(full=True)
            return sum(1 for _, record in self._live.values() if record.state != "Z")

    # -- results ---------------------------------------------------------------

    @property
    def cpu_s(self) -> float:
        """CPU seconds the sampling took: its thread (wake-ups included) and the
        polls other threads asked for. Complete once :meth:`stop` has returned."""
        return self._thread_cpu_s + self._cpu_other_threads_s

    @property
    def processes_seen(self) -> int:
        """Distinct processes seen (a reused pid counts again)."""
        return len(self._records)

    @property
    def peak_single_bytes(self) -> int:
        """Largest VmHWM of any process and any of its images."""
        return peak_single_bytes(self._records)

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) seconds: last-read times of every process seen."""
        return cpu_times(self._records)

    def top_processes(self, n: int = 20) -> list[dict[str, object]]:
        """The ``n`` processes with the largest peak, largest first."""
        return top_processes(self._records, n)
