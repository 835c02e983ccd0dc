"""measure(): run one command and return the peak memory and time of its whole process tree.

The steps, for every backend:

1. Check the input (UsageError for bad input) and pick the backend.
2. cgroup backends: make a child cgroup (limit set first). The command's
   process writes itself into it after fork and before exec (``preexec_fn``),
   so every byte it and its descendants ever charge is counted, and nothing the
   harness held before the fork is.
3. Start the command in a new session (its own process group, no terminal
   signals), a thread that reaps it with ``wait4`` (exit status, rusage, exact
   end time) and the sampler thread. No helper process is started.
4. On timeout: SIGTERM to the whole tree, ``grace_s``, then SIGKILL until no
   process is left. When the direct child exits, processes of the tree still
   running are ended the same way (counted in details ``stragglers``). On an
   exception or Ctrl-C: SIGKILL at once.
5. Read the figures, then remove the cgroup (always, in ``finally``).

Status and the tree's CPU: see assemble.py. Joining the cgroup before exec:
see launch.py. The machine's load during the run (MachineLoad, ``load`` of the
result): see load.py.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.measure.assemble import Seen, build_result
from harness.measure.backends import choose_backend
from harness.measure.cgroup_v1 import CgroupV1
from harness.measure.cgroup_v2 import CgroupV2
from harness.measure.cgroupfs import BackendUnavailable, Cgroup
from harness.measure.inputs import check_numbers
from harness.measure.launch import MeasureError, Waiter, start, wait_end
from harness.measure.machine_load import TREES, CpuReader, LoadProbe
from harness.measure.procfs import self_hwm_bytes
from harness.measure.result import MeasureResult
from harness.measure.sampler import Sampler
from harness.measure.tree import KILL_WAIT_S, TreeKiller

__all__ = ["DEFAULT_GRACE_S", "DEFAULT_INTERVAL_MS", "MeasureError", "measure"]

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 10.0
"""Poll interval of the sampler: 100 reads of the tree a second (the cgroup backends'
side sampler polls every 100 ms at least: see Cgroup.poll_interval_s)."""
DEFAULT_GRACE_S = 5.0
"""Seconds between SIGTERM and SIGKILL when the tree is ended."""
PSS_INTERVAL_S = 1.0
"""How often the sample backend sums PSS at most (smaps_rollup walks page tables:
costly; see sampler.PSS_BUDGET)."""


def measure(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    limit_bytes: int | None = None,
    timeout_s: float | None = None,
    interval_ms: float = DEFAULT_INTERVAL_MS,
    backend: str = "auto",
    stdout: Path | None = None,
    stderr: Path | None = None,
    grace_s: float = DEFAULT_GRACE_S,
    stop: threading.Event | None = None,
) -> MeasureResult:
    """Run ``cmd`` and measure the peak memory and time of it and all its descendants.

    ``env`` replaces the environment (None: inherit); ``stdout``/``stderr`` are
    files the command's output is appended to (None: inherit; the same path for
    both: one file, like 2>&1). ``limit_bytes`` is
    enforced by the cgroup (the sample backend kills the tree when its summed
    RSS passes it: a softer limit). ``timeout_s`` ends the whole tree: SIGTERM,
    ``grace_s``, SIGKILL. ``backend``: auto, cgroup2, cgroup1 or sample.
    ``stop``: for a service measured from another thread (a Celery worker, the
    broker): once set, the tree is ended the same way and the status is ``ok``
    unless the OOM killer struck (details ``stopped``).

    Returns a MeasureResult whatever the command did (ok, error, oom, timeout);
    raises UsageError for bad input and MeasureError if the harness itself fails.
    """
    argv = [str(a) for a in cmd]
    _check_input(argv, env, cwd, limit_bytes, timeout_s, interval_ms, grace_s)
    name = choose_backend(backend)
    group: Cgroup | None = None
    try:
        if name == "cgroup1":
            group = CgroupV1.create(limit_bytes)
        elif name == "cgroup2":
            group = CgroupV2.create(limit_bytes)
    except BackendUnavailable as exc:
        raise UsageError(f"backend {name} is not available here: {exc}") from exc
    removed = True
    if group is not None:
        TREES.add(group, _cpu_reader(group))
    try:
        result = _run(
            argv, name, group, env, cwd, limit_bytes, timeout_s, interval_ms, stdout, stderr,
            grace_s, stop,
        )
    finally:
        if group is not None:
            TREES.end(group)
            removed = group.remove()
    if not removed:
        result.details["cgroup_left_behind"] = True
    return result


def _cpu_reader(group: Cgroup) -> CpuReader:
    def read() -> float | None:
        try:
            times = group.cpu_times()
        except (OSError, ValueError):
            return None
        return None if times is None else times[0] + times[1]

    return read


def _check_input(
    argv: list[str],
    env: Mapping[str, str] | None,
    cwd: Path | None,
    limit_bytes: int | None,
    timeout_s: float | None,
    interval_ms: float,
    grace_s: float,
) -> None:
    if not argv or not argv[0]:
        raise UsageError("no command given; put it after --, e.g. harness measure -- sleep 1")
    check_numbers(limit_bytes, timeout_s, grace_s, interval_ms)
    if cwd is not None and not Path(cwd).is_dir():
        raise UsageError(f"working directory {cwd} does not exist")
    exe = argv[0]
    if os.sep in exe:  # a path: Popen resolves it against cwd
        path = Path(exe) if os.path.isabs(exe) else Path(cwd or os.getcwd()) / exe
        if not path.exists():
            raise UsageError(f"{exe}: no such file")
        if not path.is_file():
            raise UsageError(f"{exe}: not a file")
        if not os.access(path, os.X_OK):
            raise UsageError(f"{exe}: not executable (chmod +x it, or name its interpreter "
                             "first, e.g. sh SCRIPT)")  # fmt: skip
    else:
        search = (env if env is not None else os.environ).get("PATH", os.defpath)
        if shutil.which(exe, path=search) is None:
            raise UsageError(f"{exe}: command not found")


def _run(
    argv: list[str],
    backend: str,
    group: Cgroup | None,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    limit_bytes: int | None,
    timeout_s: float | None,
    interval_ms: float,
    stdout: Path | None,
    stderr: Path | None,
    grace_s: float,
    stop: threading.Event | None = None,
) -> MeasureResult:
    # The cgroup backends poll less often: the kernel keeps the tree's peak.
    interval_s = group.poll_interval_s(interval_ms / 1000) if group else interval_ms / 1000
    harness_hwm = self_hwm_bytes()
    load = LoadProbe(group)
    proc, t0 = start(argv, group, limit_bytes, env, cwd, stdout, stderr)
    killer = TreeKiller(proc.pid, None, group)
    try:
        waiter = Waiter(proc.pid)
        waiter.start()
    except BaseException:
        # Ctrl-C between the start and the supervision (a loaded machine can hold us
        # there while the command runs): the tree would outlive us, holding our stderr.
        killer.kill("interrupted")
        raise
    sampler, ended_by, stragglers = _supervise(
        proc.pid, waiter, killer, group, interval_s, limit_bytes, (timeout_s, grace_s), stop
    )
    load.stop()

    exit_code = os.waitstatus_to_exitcode(waiter.status) if waiter.status is not None else None
    if exit_code is not None:
        proc.returncode = exit_code  # we reaped it; tell Popen so it does not warn
    seen = Seen(
        backend=backend, group=group, waiter=waiter, sampler=sampler, killer=killer, load=load,
        limit_bytes=limit_bytes, timed_out=ended_by == "timeout", stragglers=stragglers,
        stopped=ended_by == "stop",
        wall_s=(waiter.end or time.perf_counter()) - t0, exit_code=exit_code,
    )
    details: dict[str, Any] = {
        "interval_ms": round(interval_s * 1000, 3),
        "grace_s": grace_s,
        "timeout_s": timeout_s,
    }
    return build_result(seen, details, harness_hwm)


def _supervise(
    pid: int,
    waiter: Waiter,
    killer: TreeKiller,
    group: Cgroup | None,
    interval_s: float,
    limit_bytes: int | None,
    ending: tuple[float | None, float],
    stop: threading.Event | None,
) -> tuple[Sampler, str | None, int]:
    """Sample until the direct child ends, the timeout ends the tree or the caller's
    ``stop`` does; then end what is left of the tree. ``ending``: (timeout_s, grace_s).
    The stopped sampler, what ended the tree ("timeout", "stop" or None: the child
    exited), and how many processes were left after the child exited."""
    timeout_s, grace_s = ending
    ended_by: str | None = None
    sampler: Sampler | None = None
    try:
        sampler = Sampler(
            pid,
            interval_s=interval_s,
            cgroup_procs=group.procs_path if group is not None else None,
            pss_interval_s=PSS_INTERVAL_S if group is None else None,
            limit_bytes=limit_bytes if group is None else None,
            on_poll=group.on_poll if group is not None else None,
            on_limit=lambda: killer.kill("summed RSS passed the limit"),
        )
        killer.sampler = sampler
        sampler.start()
        stopped = wait_end(waiter, timeout_s, stop)
        if not waiter.done.is_set():
            ended_by = "stop" if stopped else "timeout"
            killer.terminate(grace_s, "stopped by the caller" if stopped else "timeout")
            if not waiter.done.wait(KILL_WAIT_S):
                log.warning("pid %d did not end after SIGKILL", pid)
        stragglers = killer.count_alive()
        if stragglers:
            killer.terminate(grace_s, "processes left after the command exited")
    except BaseException:  # Ctrl-C or a bug: nothing of the tree may survive us
        killer.kill("interrupted")
        waiter.done.wait(KILL_WAIT_S)
        raise
    finally:
        if sampler is not None:
            sampler.stop()
    return sampler, ended_by, stragglers
