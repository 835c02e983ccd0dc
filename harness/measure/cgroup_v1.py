"""cgroup v1 backend: a child of the memory hierarchy (and of cpuacct) per measurement.

Peak: ``memory.max_usage_in_bytes``, the kernel's high-water mark of the group's
charged memory, updated on every charge: no spike escapes it. v1 charges page
cache to the group that first touched the page, so the figure includes files
the tree read or wrote; ``memory.stat`` rss and cache are recorded at the end
and near the peak (the v1 kernel keeps no peak of rss alone). Limit:
``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes`` where swap is
accounted, so the limit cannot be dodged by swapping). OOM: the ``oom_kill``
counter of ``memory.oom_control`` (kernel 4.13+). CPU: ``cpuacct.usage_user``
and ``cpuacct.usage_sys`` of a cpuacct child cgroup of the same name.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from harness.measure import cgroupfs
from harness.measure.cgroupfs import BackendUnavailable, Cgroup, read_keyed, read_text, write_text

# memory.stat keys recorded (hierarchical "total_" variants: equal to the local ones for a leaf)
STAT_KEYS = ("total_rss", "total_cache", "total_shmem", "total_mapped_file", "total_swap")


def _memory_root() -> Path:
    root = cgroupfs.v1_mount("memory")
    if root is None:
        raise BackendUnavailable("no cgroup v1 memory hierarchy is mounted")
    if not os.access(root, os.W_OK):
        raise BackendUnavailable(f"{root} is not writable (run as root)")
    return root


def probe() -> None:
    """Raise BackendUnavailable unless a child memory cgroup can be made here."""
    cgroupfs.probe_child(_memory_root(), "memory.max_usage_in_bytes")


class CgroupV1(Cgroup):
    """A memory (+ cpuacct) cgroup v1 pair named ``harness-<pid>-<n>``."""

    backend = "cgroup1"
    cpu_source = "cpuacct"
    usage_file = "memory.usage_in_bytes"

    def __init__(self, memory_dir: Path, cpuacct_dir: Path | None) -> None:
        super().__init__(memory_dir)
        self.cpuacct_dir = cpuacct_dir
        self._max_usage_seen = -1
        self._stat_near_peak: dict[str, int] = {}

    @classmethod
    def create(cls, limit_bytes: int | None) -> CgroupV1:
        """Make the cgroups and set the limit; BackendUnavailable if that fails."""
        root = _memory_root()
        cgroupfs.clean_stale_once(root)
        name = cgroupfs.new_name()
        memory_dir = root / name
        try:
            memory_dir.mkdir()
        except OSError as exc:
            raise BackendUnavailable(f"cannot create {memory_dir}: {exc.strerror}") from exc
        group = cls(memory_dir, None)
        try:
            if limit_bytes is not None:
                write_text(memory_dir / "memory.limit_in_bytes", str(limit_bytes))
                memsw = memory_dir / "memory.memsw.limit_in_bytes"
                if memsw.exists():  # must come after memory.limit_in_bytes (memsw >= memory)
                    write_text(memsw, str(limit_bytes))
            group.cpuacct_dir = cls._make_cpuacct(name, root)
        except BaseException:
            group.remove()
            raise
        return group

    @staticmethod
    def _make_cpuacct(name: str, memory_root: Path) -> Path | None:
        # cpuacct may be co-mounted with memory (then the same directory) or absent
        root = cgroupfs.v1_mount("cpuacct")
        if root is None:
            return None
        if root == memory_root:
            return memory_root / name
        cgroupfs.clean_stale_once(root)
        try:
            (root / name).mkdir()
        except OSError:
            return None
        return root / name

    def enter_paths(self) -> list[str]:
        """Both cgroup.procs files: the child joins memory and cpuacct before it execs."""
        paths = [str(self.directory / "cgroup.procs")]
        if self.cpuacct_dir is not None and self.cpuacct_dir != self.directory:
            paths.append(str(self.cpuacct_dir / "cgroup.procs"))
        return paths

    def on_poll(self) -> None:
        """Keep memory.stat from the poll with the highest usage seen (every 100 ms)."""
        with contextlib.suppress(OSError, ValueError):
            usage = self.usage_bytes()
            if usage > self._max_usage_seen:
                self._max_usage_seen = usage
                self._stat_near_peak = self._stat()

    def _stat(self) -> dict[str, int]:
        stat = read_keyed(self.directory / "memory.stat")
        return {k.removeprefix("total_"): stat[k] for k in STAT_KEYS if k in stat}

    def peak_bytes(self) -> int:
        """memory.max_usage_in_bytes (includes page cache charged to the group)."""
        return int(read_text(self.directory / "memory.max_usage_in_bytes"))

    def oom_kills(self) -> int | None:
        """``oom_kill`` of memory.oom_control; None on kernels before 4.13."""
        return read_keyed(self.directory / "memory.oom_control").get("oom_kill")

    def failcnt(self) -> int:
        """How often the limit was hit (reclaim included, so not an OOM count)."""
        with contextlib.suppress(OSError, ValueError):
            return int(read_text(self.directory / "memory.failcnt"))
        return 0

    def cpu_times(self) -> tuple[float, float] | None:
        """cpuacct.usage_user / usage_sys (ns); cpuacct.stat (ticks) on older kernels."""
        d = self.cpuacct_dir
        if d is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            user = int(read_text(d / "cpuacct.usage_user"))
            system = int(read_text(d / "cpuacct.usage_sys"))
            return user / 1e9, system / 1e9
        stat = read_keyed(d / "cpuacct.stat")
        if "user" in stat and "system" in stat:
            hz = os.sysconf("SC_CLK_TCK")
            return stat["user"] / hz, stat["system"] / hz
        return None

    def details(self) -> dict[str, object]:
        """Paths, memory.stat at the end and near the peak, failcnt, oom_kill."""
        return {
            "cgroup": str(self.directory),
            "cpuacct_cgroup": str(self.cpuacct_dir) if self.cpuacct_dir else None,
            "memory_stat_end": self._stat(),
            "memory_stat_near_peak": self._stat_near_peak,
            "failcnt": self.failcnt(),
            "oom_kills": self.oom_kills(),
        }

    def remove(self) -> bool:
        """Kill what is left, rmdir the memory and the cpuacct cgroup."""
        self.close_files()
        ok = cgroupfs.destroy(self.directory)
        if self.cpuacct_dir is not None and self.cpuacct_dir != self.directory:
            ok = cgroupfs.destroy(self.cpuacct_dir) and ok
        return ok
