"""Cheap readers of /proc for one process, pinned so that pid reuse cannot fool them.

A :class:`ProcHandle` opens ``/proc/<pid>/stat``, ``status`` and the main thread's
``children`` once and re-reads them with ``pread``: about 1-3 microseconds a file
here, several times cheaper than psutil, which matters at a 10 ms poll. An open
/proc file keeps referring to the process it was opened for: once that process
is reaped, a read fails with ESRCH even if the pid number is reused. A pidfd,
where the kernel has them, lets signals reach the right process for the same
reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
from dataclasses import dataclass

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PF_FORKNOEXEC = 0x40  # include/linux/sched.h: "Forked but didn't exec"

_GONE = (errno.ESRCH, errno.ENOENT)


class ProcessGone(Exception):
    """The process exited and was reaped (or never existed)."""


@dataclass(frozen=True, slots=True)
class StatSample:
    """The fields of /proc/<pid>/stat the sampler uses."""

    name: str
    state: str
    ppid: int
    forked_no_exec: bool
    """PF_FORKNOEXEC: a fork()ed copy that has not exec()ed (shares its parent's pages)."""
    code_range: tuple[int, int]
    """startcode/endcode: changes when the process execs a new image (ASLR)."""
    utime_ticks: int
    stime_ticks: int
    threads: int
    rss_bytes: int
    faults: int
    """Minor plus major page faults of the whole process so far."""


READ_SIZE = 4096


def read_all(fd: int) -> bytes:
    """Whole content of a pinned /proc or cgroupfs file from offset 0 (pread: no seek state).

    Reads until an empty read: a seq_file (children, cgroup.procs) may return
    less than asked before its end. Reads of READ_SIZE bytes: enough for stat
    and status in one, where a 64 KiB buffer allocated at every read would cost
    more than the read itself.
    """
    chunks = []
    offset = 0
    while chunk := os.pread(fd, READ_SIZE, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def parse_stat(data: bytes) -> StatSample:
    """Parse /proc/<pid>/stat. The name may hold spaces and parentheses: split at the last ')'."""
    open_paren = data.index(b"(")
    close_paren = data.rindex(b")")
    name = data[open_paren + 1 : close_paren].decode(errors="replace")
    # fields[0] is field 3 of proc(5) (state); field n is fields[n - 3]
    fields = data[close_paren + 2 :].split(None, 25)  # up to endcode; the rest is not needed
    return StatSample(
        name=name,
        state=fields[0].decode(),
        ppid=int(fields[1]),
        forked_no_exec=bool(int(fields[6]) & PF_FORKNOEXEC),
        code_range=(int(fields[23]), int(fields[24])),
        utime_ticks=int(fields[11]),
        stime_ticks=int(fields[12]),
        threads=int(fields[17]),
        rss_bytes=int(fields[21]) * PAGE_SIZE,
        faults=int(fields[7]) + int(fields[9]),  # minflt, majflt
    )


def parse_status_kib(data: bytes, key: bytes) -> int | None:
    """Value in bytes of a 'Key:   N kB' line of /proc/<pid>/status (None if absent: zombie)."""
    start = data.find(b"\n" + key + b":")
    if start < 0:
        return None
    end = data.find(b"\n", start + 1)
    parts = data[start + len(key) + 2 : end if end >= 0 else None].split()
    return int(parts[0]) * 1024 if parts else None


def parse_pids(data: bytes) -> list[int]:
    """Whitespace-separated pids (children files, cgroup.procs)."""
    return [int(x) for x in data.split()]


def self_hwm_bytes() -> int:
    """VmHWM of this process (0 if unreadable)."""
    try:
        with open("/proc/self/status", "rb") as f:
            return parse_status_kib(f.read(), b"VmHWM") or 0
    except OSError:
        return 0


class ProcHandle:
    """Pinned /proc files (and a pidfd) of one process."""

    __slots__ = ("_children", "_pidfd", "_stat", "_statm", "_status", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._stat = -1
        self._statm = -1
        self._status = -1
        self._children = -1
        self._pidfd = -1
        try:
            self._stat = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
            self._statm = os.open(f"/proc/{pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
            self._status = os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            self.close()
            raise ProcessGone(pid) from exc
        with contextlib.suppress(OSError):  # absent without CONFIG_PROC_CHILDREN
            self._children = os.open(f"/proc/{pid}/task/{pid}/children", os.O_RDONLY | os.O_CLOEXEC)
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self._pidfd = os.pidfd_open(pid)

    def _read(self, fd: int) -> bytes:
        try:
            return read_all(fd)
        except OSError as exc:
            if exc.errno in _GONE:
                raise ProcessGone(self.pid) from exc
            raise

    def stat(self) -> StatSample:
        """Current /proc/<pid>/stat; raises ProcessGone once reaped."""
        return parse_stat(self._read(self._stat))

    def rss_bytes(self) -> int:
        """Resident set size now, from statm: the cheapest read (0 once it has exited)."""
        try:
            data = os.pread(self._statm, 256, 0)
        except OSError as exc:
            if exc.errno in _GONE:
                raise ProcessGone(self.pid) from exc
            raise
        return int(data.split(None, 2)[1]) * PAGE_SIZE

    def hwm_bytes(self) -> int | None:
        """VmHWM (peak RSS of the current image) in bytes; None for a zombie."""
        return parse_status_kib(self._read(self._status), b"VmHWM")

    @property
    def statm_fd(self) -> int:
        """The pinned statm file, for the sampler's fast path."""
        return self._statm

    @property
    def children_fd(self) -> int:
        """The pinned children file of the main thread (-1 without CONFIG_PROC_CHILDREN)."""
        return self._children

    def children_raw(self) -> bytes:
        """The main thread's children file as it is: pids separated by spaces."""
        if self._children < 0:
            return b""
        try:
            return read_all(self._children)
        except OSError:
            return b""

    def children(self) -> list[int]:
        """Children forked by the main thread (cheap: one pinned file)."""
        return parse_pids(self.children_raw())

    def all_children(self) -> list[int]:
        """Children forked by any thread: /proc/<pid>/task/*/children."""
        pids: list[int] = []
        try:
            tids = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return pids
        for tid in tids:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/children", "rb") as f:
                    pids.extend(parse_pids(f.read()))
            except OSError:
                continue
        return pids

    def pss_bytes(self) -> int | None:
        """PSS from smaps_rollup (costly for big processes: call at a slower rate)."""
        try:  # os-level calls: a buffered open() costs more than the read
            fd = os.open(f"/proc/{self.pid}/smaps_rollup", os.O_RDONLY | os.O_CLOEXEC)
            try:
                return parse_status_kib(b"\n" + read_all(fd), b"Pss")
            finally:
                os.close(fd)
        except OSError:
            return None

    def send_signal(self, sig: int) -> bool:
        """Signal this very process (pidfd when available); False if it is gone."""
        try:
            if self._pidfd >= 0:
                signal.pidfd_send_signal(self._pidfd, sig)
            else:
                os.kill(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def close(self) -> None:
        """Close every pinned file descriptor."""
        for name in ("_stat", "_statm", "_status", "_children", "_pidfd"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)


class NewestPid:
    """The last pid the kernel handed out in this pid namespace: the last field of
    /proc/loadavg (a descendant in a nested namespace gets one here too), through a
    pinned file. Read before the children files: if it has not changed at the
    next poll, no process (or thread) was made since."""

    def __init__(self) -> None:
        self._fd = -1
        with contextlib.suppress(OSError):
            self._fd = os.open("/proc/loadavg", os.O_RDONLY | os.O_CLOEXEC)

    def read(self) -> bytes:
        """The pid as the kernel wrote it; b"" when unreadable."""
        if self._fd < 0:
            return b""
        try:
            return os.pread(self._fd, 128, 0).rsplit(None, 1)[-1]
        except (OSError, IndexError):
            return b""

    def close(self) -> None:
        """Close the pinned file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
