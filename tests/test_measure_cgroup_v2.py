"""The cgroup v2 backend against a fake cgroup2 filesystem that behaves as the kernel documents.

This machine has no cgroup v2 memory controller, so every file the v2 code
reads or writes is checked here on a directory tree that follows
Documentation/admin-guide/cgroup-v2.rst:

- mkdir makes a cgroup with the core files (cgroup.procs, cgroup.controllers,
  cgroup.subtree_control, cgroup.events, cgroup.kill from 5.14, cpu.stat) and,
  when the parent lists ``memory`` in its cgroup.subtree_control, the memory
  files (memory.current, memory.max "max", memory.peak from 5.19,
  memory.events, memory.stat, memory.swap.max where swap is accounted);
- writes follow the kernel's rules: "+memory" in cgroup.subtree_control only
  for a controller in cgroup.controllers (ENOENT) and only in a cgroup with no
  process of its own unless it is the root (EBUSY); memory.max and
  memory.swap.max take "max" or bytes, kept rounded down to the page size;
  cgroup.kill takes only "1" and empties the group; read-only files refuse
  writes (EACCES);
- rmdir fails with EBUSY while the group has a process or a child.

The real check is the nightly's self-test on a runner with cgroup v2
(``pytest tests/test_measure.py -m cgroup_selftest``).
"""

from __future__ import annotations

import errno
import functools
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.measure import cgroup_v2, cgroupfs
from harness.measure.cgroup_v2 import PARENT_ENV, CgroupV2
from harness.measure.cgroupfs import BackendUnavailable
from harness.measure.launch import _preexec

MIB = 1024 * 1024
FAKE_PIDS = 4_000_000
"""Pids from here up are fake: alive while listed in a fake cgroup.procs, signalled only
in the fake (a real process is never signalled by these tests)."""
PAGE = os.sysconf("SC_PAGE_SIZE")
ROOT_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc"
EVENTS = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"
CPU_STAT_CORE = "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"
CPU_STAT_CONTROLLER = "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n"
MEMORY_STAT = (  # the head of a 6.x kernel's memory.stat, in its order
    "anon 104857600\nfile 8192\nkernel 1228800\nkernel_stack 32768\npagetables 299008\n"
    "sec_pagetables 0\npercpu 480\nsock 0\nvmalloc 0\nshmem 0\nzswap 0\nzswapped 0\n"
    "file_mapped 4096\nfile_dirty 0\nfile_writeback 0\nswapcached 0\nanon_thp 0\n"
    "pgfault 25713\npgmajfault 0\n"
)


class FakeKernel:
    """A cgroup2 hierarchy in a plain directory, with the kernel's rules applied by
    patching mkdir, rmdir and the backend's write_text (see the module docstring)."""

    def __init__(self, base: Path, *, peak: bool = True, kill: bool = True,
                 swap: bool = True, controllers: str = ROOT_CONTROLLERS) -> None:
        self.root = base / "sys" / "fs" / "cgroup"
        self.peak, self.kill, self.swap = peak, kill, swap
        self.writes: list[tuple[str, str]] = []
        self.signals: list[tuple[int, int]] = []
        self.root.mkdir(parents=True)
        for name, text in {
            "cgroup.controllers": controllers + "\n",
            "cgroup.subtree_control": "\n",  # starts out empty
            "cgroup.procs": "1\n",  # the root holds every process not moved elsewhere
            "cpu.stat": CPU_STAT_CORE,
        }.items():
            (self.root / name).write_text(text)
        # proc(5) mountinfo lines: a hybrid layout, v2 at our fake root
        self.mountinfo = base / "mountinfo"
        self.mountinfo.write_text(
            "24 30 0:22 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
            f"25 30 0:23 / {self.root} rw,nosuid,nodev,noexec,relatime shared:4 - "
            "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
        )

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeKernel:
        """Point the backend at this hierarchy and apply the kernel's rules to it."""
        monkeypatch.setattr(cgroupfs, "mounts",
                            functools.partial(cgroupfs.mounts, str(self.mountinfo)))
        monkeypatch.setattr(cgroupfs, "write_text", self.write)
        monkeypatch.setattr(cgroup_v2, "write_text", self.write)
        real_mkdir, real_rmdir, real_kill = Path.mkdir, os.rmdir, os.kill

        def mkdir(path: Path, mode: int = 0o777, parents: bool = False,
                  exist_ok: bool = False) -> None:
            if self._ours(path) and path.exists():
                if not exist_ok:
                    raise FileExistsError(errno.EEXIST, "File exists", str(path))
                return
            real_mkdir(path, mode, parents, exist_ok)
            if self._ours(path):
                self._populate(path)

        def rmdir(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
            p = Path(path)
            if not self._ours(p):
                real_rmdir(path)
                return
            if not p.exists():
                raise FileNotFoundError(errno.ENOENT, "No such file", str(p))
            if self.members(p) or any(c.is_dir() for c in p.iterdir()):
                raise OSError(errno.EBUSY, "Device or resource busy", str(p))
            for f in p.iterdir():
                f.unlink()
            real_rmdir(p)

        def kill(pid: int, sig: int) -> None:
            if pid < FAKE_PIDS:  # not one of the fake pids: never signal a real process
                real_kill(pid, sig)
                return
            if not any(pid in self.members(p.parent) for p in self.root.rglob("cgroup.procs")):
                raise ProcessLookupError(errno.ESRCH, "No such process")
            self.signals.append((pid, sig))
            if sig == signal.SIGKILL:
                for procs in self.root.rglob("cgroup.procs"):
                    kept = [line for line in procs.read_text().split() if int(line) != pid]
                    procs.write_text("".join(f"{x}\n" for x in kept))

        monkeypatch.setattr(Path, "mkdir", mkdir)
        monkeypatch.setattr(os, "rmdir", rmdir)
        monkeypatch.setattr(os, "kill", kill)
        return self

    def _ours(self, path: Path) -> bool:
        return path.is_relative_to(self.root) and path != self.root

    @staticmethod
    def members(path: Path) -> list[int]:
        """Pids in cgroup.procs."""
        return [int(x) for x in (path / "cgroup.procs").read_text().split()]

    def _populate(self, path: Path) -> None:
        """The files a new cgroup has, by kernel version and the parent's subtree_control."""
        controllers = (path.parent / "cgroup.subtree_control").read_text().split()
        files = {
            "cgroup.procs": "",
            "cgroup.controllers": " ".join(controllers) + "\n",
            "cgroup.subtree_control": "\n",
            "cgroup.events": "populated 0\nfrozen 0\n",
            "cgroup.type": "domain\n",
            "cpu.stat": CPU_STAT_CORE + (CPU_STAT_CONTROLLER if "cpu" in controllers else ""),
        }
        if self.kill:  # 5.14+
            files["cgroup.kill"] = ""
        if "memory" in controllers:
            files.update({
                "memory.current": "0\n", "memory.min": "0\n", "memory.low": "0\n",
                "memory.high": "max\n", "memory.max": "max\n", "memory.events": EVENTS,
                "memory.events.local": EVENTS, "memory.stat": "anon 0\nfile 0\n",
                "memory.oom.group": "0\n",
            })
            if self.peak:  # 5.19+
                files["memory.peak"] = "0\n"
            if self.swap:  # CONFIG_SWAP and swap accounting on
                files.update({"memory.swap.current": "0\n", "memory.swap.max": "max\n"})
        for name, text in files.items():
            (path / name).write_text(text)

    def write(self, path: Path, text: str) -> None:
        """One write() to a cgroup file, as the kernel takes it."""
        self.writes.append((str(path.relative_to(self.root)), text))
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        name, group = path.name, path.parent
        if name == "cgroup.subtree_control":
            self._subtree_control(group, text)
        elif name in ("memory.max", "memory.swap.max", "memory.high"):
            value = text.strip()
            if value != "max" and not value.isdigit():
                raise OSError(errno.EINVAL, "Invalid argument", str(path))
            path.write_text("max\n" if value == "max" else f"{int(value) // PAGE * PAGE}\n")
        elif name == "cgroup.kill":
            if text.strip() != "1":
                raise OSError(errno.EINVAL, "Invalid argument", str(path))
            for procs in group.rglob("cgroup.procs"):
                procs.write_text("")
        elif name == "cgroup.procs":
            path.write_text(path.read_text() + f"{int(text)}\n")
        else:  # read-only: memory.current, memory.peak, memory.events, cpu.stat, ...
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    def _subtree_control(self, group: Path, text: str) -> None:
        available = (group / "cgroup.controllers").read_text().split()
        enabled = set((group / "cgroup.subtree_control").read_text().split())
        for token in text.split():
            if token[0] not in "+-":
                raise OSError(errno.EINVAL, "Invalid argument")
            if token[1:] not in available:
                raise OSError(errno.ENOENT, "No such file or directory")
            enabled = enabled | {token[1:]} if token[0] == "+" else enabled - {token[1:]}
        if enabled and group != self.root and self.members(group):
            raise OSError(errno.EBUSY, "Device or resource busy")  # no internal processes
        order = [c for c in available if c in enabled]  # shown in the kernel's order
        (group / "cgroup.subtree_control").write_text(" ".join(order) + "\n")


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKernel]:
    """A 6.x kernel: memory.peak, cgroup.kill and swap accounting all present."""
    monkeypatch.delenv(PARENT_ENV, raising=False)
    yield FakeKernel(tmp_path).install(monkeypatch)


def _old_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, peak: bool = True,
                kill: bool = True, swap: bool = True) -> FakeKernel:
    monkeypatch.delenv(PARENT_ENV, raising=False)
    return FakeKernel(tmp_path, peak=peak, kill=kill, swap=swap).install(monkeypatch)


# ---------------------------------------------------------------- finding the hierarchy
def test_mountinfo_parsing(tmp_path: Path) -> None:
    """proc(5) mountinfo: v1 and v2 mounts told apart; an escaped space in a mount point."""
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "24 30 0:22 / /sys/fs/cgroup/memory rw,nosuid shared:5 - cgroup cgroup rw,memory\n"
        "26 30 0:24 / /sys/fs/cgroup/cpu,cpuacct rw shared:6 - cgroup cgroup rw,cpu,cpuacct\n"
        "25 30 0:23 / /mnt/my\\040cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
    )
    found = list(cgroupfs.mounts(str(info)))
    assert [(str(m.mountpoint), m.fstype) for m in found] == [
        ("/sys/fs/cgroup/memory", "cgroup"),
        ("/sys/fs/cgroup/cpu,cpuacct", "cgroup"),
        ("/mnt/my cgroup", "cgroup2"),
    ]
    assert "cpuacct" in found[1].super_options


def test_probe_enables_memory_in_the_parent(kernel: FakeKernel) -> None:
    """memory.max appears in a child only once the PARENT's cgroup.subtree_control has
    memory: the probe writes "+memory" there (one write), sees memory.max in its
    child and removes the child."""
    cgroup_v2.probe()
    assert kernel.writes[0] == ("cgroup.subtree_control", "+memory")
    assert (kernel.root / "cgroup.subtree_control").read_text() == "memory\n"
    assert not [p for p in kernel.root.iterdir() if p.is_dir()]  # the probe child is gone
    kernel.writes.clear()
    cgroup_v2.probe()  # already enabled: no second write
    assert kernel.writes == []


def test_no_memory_controller_in_v2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hybrid layout with memory bound to v1 (this machine): unavailable, and why."""
    monkeypatch.delenv(PARENT_ENV, raising=False)
    FakeKernel(tmp_path, controllers="cpuset cpu io pids").install(monkeypatch)
    with pytest.raises(BackendUnavailable, match="no memory controller"):
        cgroup_v2.probe()


# ---------------------------------------------------------------- making a group
def test_create_with_limit(kernel: FakeKernel) -> None:
    """The limit goes to memory.max in bytes, and memory.swap.max is set to 0, so the
    limit cannot be dodged by swapping; the kernel keeps them page-rounded."""
    group = CgroupV2.create(200 * MIB + 100)
    try:
        assert group.directory.parent == kernel.root
        assert cgroupfs.NAME_RE.match(group.directory.name)
        assert (group.directory / "memory.max").read_text() == f"{200 * MIB}\n"
        assert (group.directory / "memory.swap.max").read_text() == "0\n"
        assert group.has_peak_file
        assert group.enter_paths() == [str(group.directory / "cgroup.procs")]
    finally:
        assert group.remove()
    assert not group.directory.exists()


def test_create_without_limit_leaves_the_defaults(kernel: FakeKernel) -> None:
    """No limit: memory.max and memory.swap.max stay "max" (nothing written to them)."""
    group = CgroupV2.create(None)
    try:
        assert (group.directory / "memory.max").read_text() == "max\n"
        assert (group.directory / "memory.swap.max").read_text() == "max\n"
        assert not [w for w in kernel.writes if w[0].startswith("harness-")]
    finally:
        group.remove()


def test_create_without_swap_accounting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No memory.swap.max (no swap accounting): the limit is set on memory.max alone."""
    kernel = _old_kernel(tmp_path, monkeypatch, swap=False)
    group = CgroupV2.create(100 * MIB)
    try:
        assert (group.directory / "memory.max").read_text() == f"{100 * MIB}\n"
        assert [name for name, _ in kernel.writes if name.startswith("harness-")] == [
            f"{group.directory.name}/memory.max"]
    finally:
        group.remove()


# ---------------------------------------------------------------- reading the figures
def _fill(group: CgroupV2, **files: str) -> None:
    for name, text in files.items():
        (group.directory / name.replace("_", ".", 1)).write_text(text)


def test_figures_as_the_kernel_writes_them(kernel: FakeKernel) -> None:
    """memory.peak, memory.events (oom_group_kill included), cpu.stat with the cpu
    controller's extra keys, and the full memory.stat: the figures the result takes."""
    (kernel.root / "cgroup.subtree_control").write_text("cpu memory\n")
    group = CgroupV2.create(None)
    try:
        assert "nr_periods" in (group.directory / "cpu.stat").read_text()  # cpu enabled
        _fill(group,
              memory_peak="314572800\n",
              memory_current="1048576\n",
              memory_events="low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
              cpu_stat="usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
                       + CPU_STAT_CONTROLLER,
              memory_stat=MEMORY_STAT)
        assert group.peak_bytes() == 300 * MIB
        assert group.usage_bytes() == MIB
        assert group.oom_kills() == 1
        assert group.cpu_times() == (1.0, 0.5)
        details = group.details()
        assert details["peak_source"] == "memory.peak"
        assert details["memory_stat_end"] == {"anon": 104857600, "file": 8192,
                                              "kernel": 1228800, "shmem": 0, "sock": 0,
                                              "file_mapped": 4096}
        assert details["memory_events"] == {"low": 0, "high": 0, "max": 3, "oom": 1,
                                            "oom_kill": 1, "oom_group_kill": 0}
    finally:
        group.close_files()
        group.remove()


def test_peak_sampled_before_5_19(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No memory.peak: memory.current is read at every poll (the requested interval, not
    the side sampler's) and its largest value is the peak, named as sampled."""
    _old_kernel(tmp_path, monkeypatch, peak=False)
    group = CgroupV2.create(None)
    try:
        assert not group.has_peak_file
        assert group.poll_interval_s(0.01) == 0.01
        for value in (50 * MIB, 120 * MIB, 80 * MIB):
            (group.directory / "memory.current").write_text(f"{value}\n")
            group.on_poll()
        assert group.peak_bytes() == 120 * MIB
        assert group.details()["peak_source"] == "memory.current sampled"
    finally:
        group.close_files()
        group.remove()


def test_side_interval_with_memory_peak(kernel: FakeKernel) -> None:
    """With memory.peak the kernel keeps the peak: the sampler beside it polls every
    SIDE_INTERVAL_S at least."""
    group = CgroupV2.create(None)
    try:
        assert group.poll_interval_s(0.01) == cgroupfs.SIDE_INTERVAL_S
    finally:
        group.remove()


def test_missing_counters(kernel: FakeKernel) -> None:
    """A memory.events without oom_kill (before 4.13) and a cpu.stat without the times:
    None, so the caller falls back (wait4 for CPU)."""
    group = CgroupV2.create(None)
    try:
        _fill(group, memory_events="low 0\nhigh 0\nmax 0\noom 0\n", cpu_stat="")
        assert group.oom_kills() is None
        assert group.cpu_times() is None
    finally:
        group.remove()


# ---------------------------------------------------------------- entering, killing, removing
def test_child_writes_0_into_cgroup_procs(kernel: FakeKernel) -> None:
    """What the forked child writes before exec: "0" (the writing process) in cgroup.procs."""
    group = CgroupV2.create(None)
    try:
        _preexec(group.enter_paths(), raise_oom_score=False)()
        assert (group.directory / "cgroup.procs").read_text() == "0"
        (group.directory / "cgroup.procs").write_text("")
    finally:
        group.remove()


def test_sigkill_through_cgroup_kill(kernel: FakeKernel) -> None:
    """SIGKILL is one write of "1" to cgroup.kill (no race against forks); other signals
    go to each member of cgroup.procs; removal then succeeds."""
    group = CgroupV2.create(None)
    (group.directory / "cgroup.procs").write_text("4000001\n4000002\n")
    assert group.pids() == [4000001, 4000002]
    assert group.signal_all(signal.SIGTERM) == 2
    assert kernel.signals == [(4000001, signal.SIGTERM), (4000002, signal.SIGTERM)]
    assert group.signal_all(signal.SIGKILL) == 2
    assert (f"{group.directory.name}/cgroup.kill", "1") in kernel.writes
    assert group.pids() == []
    assert group.remove()


def test_sigkill_before_5_14(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No cgroup.kill: SIGKILL goes to every member; remove() kills what is left first."""
    kernel = _old_kernel(tmp_path, monkeypatch, kill=False)
    group = CgroupV2.create(None)
    (group.directory / "cgroup.procs").write_text("4000003\n4000004\n")
    assert group.remove()  # rmdir would fail with EBUSY while the two are members
    assert sorted(kernel.signals) == [(4000003, signal.SIGKILL), (4000004, signal.SIGKILL)]
    assert not group.directory.exists()


def test_stale_groups(kernel: FakeKernel) -> None:
    """clean_stale: the groups of a dead owner go, one still holding a process after that
    process is killed (a dead harness leaves nothing running); a live owner's group and
    cgroups not ours stay."""
    dead = FAKE_PIDS + 9
    for name in (f"harness-{dead}-1", f"harness-{dead}-2", f"harness-{os.getpid()}-77",
                 "system.slice"):
        (kernel.root / name).mkdir()
    (kernel.root / f"harness-{dead}-2" / "cgroup.procs").write_text("4000005\n")
    removed = cgroupfs.clean_stale(kernel.root)
    assert sorted(p.name for p in removed) == [f"harness-{dead}-1", f"harness-{dead}-2"]
    # The fake kernel refuses rmdir (EBUSY) while a group has members: removed means emptied.
    assert {p.name for p in kernel.root.iterdir() if p.is_dir()} == {
        f"harness-{os.getpid()}-77", "system.slice"}


# ---------------------------------------------------------------- a delegated subtree
def _delegate(kernel: FakeKernel, monkeypatch: pytest.MonkeyPatch, *, memory: bool = True,
              procs: str = "") -> Path:
    """A subtree delegated by an admin: made under the root, its path in the environment."""
    if memory:
        kernel.write(kernel.root / "cgroup.subtree_control", "+memory")
    sub = kernel.root / "ci.slice"
    sub.mkdir()
    (sub / "cgroup.procs").write_text(procs)
    monkeypatch.setenv(PARENT_ENV, str(sub))
    return sub


def test_delegated_subtree(kernel: FakeKernel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Measurement groups go under the delegated cgroup; "+memory" is written in ITS
    cgroup.subtree_control (the parent of the groups), not in the root's or the group's."""
    sub = _delegate(kernel, monkeypatch)
    kernel.writes.clear()
    group = CgroupV2.create(64 * MIB)
    try:
        assert group.directory.parent == sub
        assert kernel.writes[0] == ("ci.slice/cgroup.subtree_control", "+memory")
        assert (sub / "cgroup.subtree_control").read_text() == "memory\n"
        assert (group.directory / "memory.max").read_text() == f"{64 * MIB}\n"
    finally:
        group.remove()


def test_delegated_subtree_holding_processes(kernel: FakeKernel,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-root cgroup with processes of its own cannot enable memory for children
    (EBUSY, "no internal processes"): unavailable, with the reason."""
    _delegate(kernel, monkeypatch, procs="4000006\n")
    with pytest.raises(BackendUnavailable, match="cannot enable memory"):
        cgroup_v2.probe()


def test_delegated_subtree_without_memory(kernel: FakeKernel,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The delegator did not enable memory in the root: the subtree cannot have it."""
    sub = _delegate(kernel, monkeypatch, memory=False)
    expected = f"not in the cgroup.subtree_control of {kernel.root}"
    with pytest.raises(BackendUnavailable, match=re.escape(expected)):
        cgroup_v2.probe()
    assert not [p for p in sub.iterdir() if p.is_dir()]


def test_delegated_path_outside_the_hierarchy(kernel: FakeKernel, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """HARNESS_CGROUP2_PARENT must name a cgroup under the v2 mount."""
    monkeypatch.setenv(PARENT_ENV, str(tmp_path))
    with pytest.raises(BackendUnavailable, match="is not a cgroup under"):
        cgroup_v2.probe()
