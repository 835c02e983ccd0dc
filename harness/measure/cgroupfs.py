"""What both cgroup backends share: finding the mounts, naming, killing members, removal.

Every cgroup the harness makes is named ``harness-<owner pid>-<n>`` directly under
the root of the hierarchy, so that a later run can find and remove those whose
owner died without cleaning up (:func:`clean_stale`).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.measure.procfs import parse_pids

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^harness-(\d+)-(\d+|probe)$")
_counter = itertools.count(1)
_cleaned: set[Path] = set()
_cleaned_lock = threading.Lock()
SIDE_INTERVAL_S = 0.1
"""Poll interval of the per-process sampler beside a cgroup backend (at least)."""


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo, the parts we need."""

    mountpoint: Path
    fstype: str
    super_options: frozenset[str]


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts(mountinfo: str = "/proc/self/mountinfo") -> Iterator[Mount]:
    """Every cgroup / cgroup2 mount of this mount namespace (proc(5)'s mountinfo format)."""
    try:
        with open(mountinfo, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        rest = right.split()
        if len(fields) < 5 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        yield Mount(Path(_unescape(fields[4])), rest[0], frozenset(rest[2].split(",")))


def v1_mount(controller: str) -> Path | None:
    """Mount point of the cgroup v1 hierarchy that holds ``controller``."""
    for m in mounts():
        if m.fstype == "cgroup" and controller in m.super_options:
            return m.mountpoint
    return None


def v2_mount() -> Path | None:
    """Mount point of the cgroup v2 (unified) hierarchy."""
    for m in mounts():
        if m.fstype == "cgroup2":
            return m.mountpoint
    return None


def new_name() -> str:
    """A name no other measurement (of this or another process) uses."""
    return f"harness-{os.getpid()}-{next(_counter)}"


def read_text(path: Path) -> str:
    """Content of a cgroupfs file."""
    with open(path, encoding="utf-8") as f:
        return f.read()


def write_text(path: Path, text: str) -> None:
    """Write a cgroupfs file in one write() (cgroupfs wants one value per write)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def read_keyed(path: Path) -> dict[str, int]:
    """A flat keyed file ('key value' lines: memory.stat, memory.events, cpu.stat)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in read_text(path).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                out[parts[0]] = int(parts[1])
    return out


def pids(directory: Path) -> list[int]:
    """Processes in the cgroup now (empty if it is gone)."""
    try:
        with open(directory / "cgroup.procs", "rb") as f:
            return parse_pids(f.read())
    except OSError:
        return []


def signal_members(directory: Path, sig: int) -> int:
    """Send ``sig`` to every process of the cgroup; how many were signalled."""
    n = 0
    for pid in pids(directory):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            n += 1
    return n


def kill_all(directory: Path, kill_file: bool = False, timeout_s: float = 10.0) -> bool:
    """SIGKILL every member until the cgroup is empty (new forks are caught by the loop).

    ``kill_file``: cgroup v2's cgroup.kill, which kills the whole subtree at once
    with no race against forks. True when the cgroup is empty.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if not pids(directory):
            return True
        if kill_file and (directory / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                write_text(directory / "cgroup.kill", "1")
        else:
            signal_members(directory, signal.SIGKILL)
        if time.monotonic() > deadline:
            return not pids(directory)
        time.sleep(0.01)


def remove_dir(directory: Path, timeout_s: float = 30.0) -> bool:
    """rmdir a cgroup, retrying while the kernel still counts exiting tasks (EBUSY).

    Generous: under load (the whole test suite on 2 cores) a SIGTERM'd run left its
    cgroup behind once with a 5 s retry, likely still busy with exiting tasks."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.rmdir(directory)
            return True
        except FileNotFoundError:
            return True
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                log.warning("could not remove cgroup %s: %s", directory, exc)
                return False
        time.sleep(0.02)


def destroy(directory: Path, kill_file: bool = False) -> bool:
    """Kill whatever is left in the cgroup, then remove it. True when it is gone."""
    if not directory.exists():
        return True
    kill_all(directory, kill_file=kill_file)
    return remove_dir(directory)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent: Path) -> list[Path]:
    """Remove ``harness-<pid>-<n>`` cgroups whose owner process is dead.

    Processes still in one belong to a measurement whose harness died (killed):
    nobody will end or measure them any more, so they are killed first.
    """
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = NAME_RE.match(entry.name)
        if not m or not entry.is_dir() or _pid_alive(int(m.group(1))):
            continue
        if pids(entry):
            log.warning("stale cgroup %s still has processes; killing them", entry)
            kill_all(entry, kill_file=(entry / "cgroup.kill").exists())
        if remove_dir(entry, timeout_s=2.0):
            removed.append(entry)
    return removed


def clean_stale_once(parent: Path) -> None:
    """:func:`clean_stale` the first time a parent is used in this process."""
    with _cleaned_lock:
        if parent in _cleaned:
            return
        _cleaned.add(parent)
    clean_stale(parent)


class BackendUnavailable(Exception):
    """This cgroup backend cannot be used here; the message says why."""


def probe_child(parent: Path, needed: str) -> None:
    """Raise BackendUnavailable unless a child cgroup of ``parent`` can be made and
    shows the control file ``needed`` (the controller is really there)."""
    probe_dir = parent / f"harness-{os.getpid()}-probe"
    try:
        probe_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise BackendUnavailable(f"cannot create a cgroup under {parent}: {exc.strerror}") from exc
    try:
        if not (probe_dir / needed).exists():
            raise BackendUnavailable(f"{parent} has no {needed} in a child cgroup")
    finally:
        remove_dir(probe_dir, timeout_s=1.0)


class Cgroup:
    """One child cgroup made for one measurement (base of the v1 and v2 backends)."""

    backend: str = ""
    kill_file: bool = False
    cpu_source: str = ""
    """Where cpu_times() comes from, named in details."""
    usage_file: str = ""
    """The file with the group's memory charged now (read at every poll)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        """The cgroup of the memory controller (and of cpu for v2)."""
        self._usage_fd = -1

    def usage_bytes(self) -> int:
        """Memory charged to the group now, through a pinned file: re-read with
        pread, a few microseconds against a hundred for open() at every poll."""
        if self._usage_fd < 0:
            self._usage_fd = os.open(self.directory / self.usage_file, os.O_RDONLY | os.O_CLOEXEC)
        return int(os.pread(self._usage_fd, 64, 0).split()[0])

    def close_files(self) -> None:
        """Close the pinned file (before the cgroup is removed)."""
        if self._usage_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._usage_fd)
            self._usage_fd = -1

    def enter_paths(self) -> list[str]:
        """cgroup.procs files the child writes itself into before it execs."""
        return [str(self.directory / "cgroup.procs")]

    @property
    def procs_path(self) -> Path:
        """cgroup.procs of the memory cgroup: the exact membership of the tree."""
        return self.directory / "cgroup.procs"

    def pids(self) -> list[int]:
        """Processes of the tree now."""
        return pids(self.directory)

    def signal_all(self, sig: int) -> int:
        """Send ``sig`` to every process of the tree; how many."""
        if sig == signal.SIGKILL and self.kill_file and (self.directory / "cgroup.kill").exists():
            n = len(self.pids())
            with contextlib.suppress(OSError):
                write_text(self.directory / "cgroup.kill", "1")
                return n
        return signal_members(self.directory, sig)

    def poll_interval_s(self, requested_s: float) -> float:
        """How often the sampler polls the tree of this cgroup.

        The kernel keeps the tree's peak, so the sampler only adds per-process
        figures (VmHWM, itself a high-water mark) and the process count: every
        SIDE_INTERVAL_S is enough and costs a tenth of polling at 10 ms.
        """
        return max(requested_s, SIDE_INTERVAL_S)

    def on_poll(self) -> None:
        """Called by the sampler thread at every poll (cheap)."""

    def peak_bytes(self) -> int:
        """Peak memory of the tree at one moment."""
        raise NotImplementedError

    def oom_kills(self) -> int | None:
        """Processes killed by the OOM killer in the group; None if the kernel does not say."""
        raise NotImplementedError

    def cpu_times(self) -> tuple[float, float] | None:
        """(user, system) CPU seconds of every process that ran in the group."""
        raise NotImplementedError

    def details(self) -> dict[str, object]:
        """Backend-specific figures for MeasureResult.details (read at the end)."""
        raise NotImplementedError

    def remove(self) -> bool:
        """Kill what is left and remove every directory made; True when all are gone."""
        self.close_files()
        return destroy(self.directory, kill_file=self.kill_file)
