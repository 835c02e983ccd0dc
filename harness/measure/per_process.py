"""What the sampler knows of one process of the tree, and how a full poll updates it.

- VmHWM: the kernel's high-water mark of the process's RSS, so a spike
  shorter than the poll interval is still caught, provided the process is read
  by a full poll after it (not once it has exited). An exec is seen when the
  code range in /proc/<pid>/stat changes or PF_FORKNOEXEC clears: the new
  image's peak is kept apart from the earlier ones, so an exec'd child's own
  figure never includes the memory it shared with its parent before the exec.
- A fork()ed child that has not exec()ed yet adds nothing to the tree's RSS sum
  until it has lived ``FORK_SETTLE_S``: until its exec it shares every page
  with its parent (the trap of ru_maxrss), and fork-then-exec is how every
  subprocess starts, so counting it would count a big parent twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.measure.procfs import CLK_TCK, ProcHandle

FORK_SETTLE_S = 0.05
"""A fork()ed process that has not exec()ed joins the RSS sum only after this long."""


@dataclass
class ProcRecord:
    """What was seen of one process of the tree."""

    pid: int
    ppid: int
    name: str
    peak_rss_bytes: int = 0
    """VmHWM of the process's latest image (after its last exec seen)."""
    earlier_images_peak_bytes: int = 0
    """Largest VmHWM of its images before that exec (0 if no exec seen)."""
    execs_seen: int = 0
    utime_ticks: int = 0
    stime_ticks: int = 0
    threads: int = 1
    state: str = "R"
    first_seen: float = 0.0
    code_range: tuple[int, int] | None = None
    forked_no_exec: bool = False
    faults_at_hwm_read: int = -1

    @property
    def peak_any_image_bytes(self) -> int:
        """Largest RSS this process ever had, whatever image it ran."""
        return max(self.peak_rss_bytes, self.earlier_images_peak_bytes)

    def public(self) -> dict[str, object]:
        """The fields worth storing in MeasureResult.details."""
        d = asdict(self)
        for k in ("utime_ticks", "stime_ticks", "threads", "state", "first_seen", "code_range",
                  "forked_no_exec", "faults_at_hwm_read"):
            d.pop(k)
        return d

    def read(self, handle: ProcHandle, now: float) -> int:
        """Update this record from /proc; what the process adds to the tree's RSS sum now.

        Raises ProcessGone once the process is reaped.
        """
        st = handle.stat()
        self.ppid, self.name, self.state = st.ppid, st.name, st.state
        self.utime_ticks, self.stime_ticks = st.utime_ticks, st.stime_ticks
        self.threads = st.threads
        if st.state == "Z":  # no memory left; its final CPU times are still there
            return 0
        old = self.code_range
        # (0, 0): no mm at that instant, or a range we may not read: not an exec
        moved = old is not None and st.code_range != old and (0, 0) not in (st.code_range, old)
        execed = moved or (old is not None and self.forked_no_exec and not st.forked_no_exec)
        # RSS grows only by page faults (populating a mapping counts as faults too), so
        # while the fault counters stand still VmHWM cannot have grown: a sleeping
        # process costs a stat read, not a status read as well.
        if execed or old is None or st.faults != self.faults_at_hwm_read:
            hwm = handle.hwm_bytes()
            if hwm is None:  # exiting: its memory is already gone
                return 0
            self.faults_at_hwm_read = st.faults
            if execed:  # a new image: its peak is its own, kept apart from the earlier ones
                self.earlier_images_peak_bytes = self.peak_any_image_bytes
                self.execs_seen += 1
                self.peak_rss_bytes = hwm
            else:
                self.peak_rss_bytes = max(self.peak_rss_bytes, hwm)
        self.code_range, self.forked_no_exec = st.code_range, st.forked_no_exec
        if st.forked_no_exec and now - self.first_seen < FORK_SETTLE_S:
            # Between fork and exec a child shares every page of its parent: counting
            # its RSS would count the parent twice (a big task process spawning dbt).
            return 0
        return st.rss_bytes


def cpu_times(records: list[ProcRecord]) -> tuple[float, float]:
    """(user, system) seconds: the last-read times of every record."""
    user = sum(r.utime_ticks for r in records) / CLK_TCK
    system = sum(r.stime_ticks for r in records) / CLK_TCK
    return user, system


def peak_single_bytes(records: list[ProcRecord]) -> int:
    """Largest VmHWM of any process and any of its images."""
    return max((r.peak_any_image_bytes for r in records), default=0)


def top_processes(records: list[ProcRecord], n: int) -> list[dict[str, object]]:
    """The ``n`` records with the largest peak, largest first, as stored in details."""
    ranked = sorted(records, key=lambda r: r.peak_any_image_bytes, reverse=True)
    return [r.public() for r in ranked[:n]]
