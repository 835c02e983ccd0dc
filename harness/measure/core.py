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

Status: ``oom`` if the OOM killer (or, for sampling, the harness at the limit)
killed any process of the tree, even if the tree then ran into the timeout or
exited 0; else ``timeout`` if the harness ended it; else ``ok`` for exit code
0 and ``error`` for any other.

CPU of the tree: the cgroup's own counter where there is one (v1 cpuacct, v2
cpu.stat: every process that ever ran in the group, exact). Without one, the
larger of wait4's rusage of the direct child (exact for every descendant that
was reaped by its parent inside the tree) and the sum of the last-read
utime/stime of every process the sampler saw (catches orphans; up to one full
poll, 200 ms, short per process).

Why preexec_fn, despite its warning about threads: it is the only race-free way
to have the process inside the cgroup before it execs, and the function run
there makes only os-level calls (open, write, close) that take no lock another
thread could hold at fork time.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, cast

from harness.errors import UsageError
from harness.measure.backends import choose_backend
from harness.measure.cgroup_v1 import CgroupV1
from harness.measure.cgroup_v2 import CgroupV2
from harness.measure.cgroupfs import BackendUnavailable, Cgroup
from harness.measure.procfs import self_hwm_bytes
from harness.measure.result import Backend, MeasureResult, Status
from harness.measure.sampler import Sampler
from harness.measure.tree import KILL_WAIT_S, TreeKiller
from harness.measure.waiter import Waiter, wait_end

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 10.0
"""Poll interval of the sampler: 100 reads of the tree a second (the cgroup backends'
side sampler polls every 100 ms at least: see Cgroup.poll_interval_s)."""
DEFAULT_GRACE_S = 5.0
"""Seconds between SIGTERM and SIGKILL when the tree is ended."""
PSS_INTERVAL_S = 1.0
"""How often the sample backend sums PSS at most (smaps_rollup walks page tables:
costly; see sampler.PSS_BUDGET)."""


class MeasureError(RuntimeError):
    """The harness could not measure (not bad input): e.g. joining the cgroup failed."""


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
    try:
        result = _run(
            argv,
            name,
            group,
            env,
            cwd,
            limit_bytes,
            timeout_s,
            interval_ms,
            stdout,
            stderr,
            grace_s,
            stop,
        )
    finally:
        if group is not None:
            removed = group.remove()
    if not removed:
        result.details["cgroup_left_behind"] = True
    return result


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
    if limit_bytes is not None and limit_bytes <= 0:
        raise UsageError(f"the memory limit must be positive, got {limit_bytes} bytes")
    if timeout_s is not None and timeout_s <= 0:
        raise UsageError(f"the timeout must be positive, got {timeout_s} s")
    if not interval_ms > 0:
        raise UsageError(f"the poll interval must be positive, got {interval_ms} ms")
    if grace_s < 0:
        raise UsageError(f"the grace must not be negative, got {grace_s} s")
    if cwd is not None and not Path(cwd).is_dir():
        raise UsageError(f"working directory {cwd} does not exist")
    exe = argv[0]
    if os.sep in exe:  # a path: Popen resolves it against cwd
        path = Path(exe) if os.path.isabs(exe) else Path(cwd or os.getcwd()) / exe
        if not path.is_file() or not os.access(path, os.X_OK):
            raise UsageError(f"{exe}: no such executable file")
    else:
        search = (env if env is not None else os.environ).get("PATH", os.defpath)
        if shutil.which(exe, path=search) is None:
            raise UsageError(f"{exe}: command not found")


def _preexec(paths: list[str], raise_oom_score: bool) -> Callable[[], None]:
    """The function the forked child runs before exec: join the cgroup(s)."""
    encoded = [os.fsencode(p) for p in paths]

    def enter() -> None:
        # In the child between fork and exec: only plain os calls, no Python-level locks.
        for path in encoded:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")  # "0" means the writing process (v1 and v2)
            finally:
                os.close(fd)
        if raise_oom_score:
            # An unkillable (-1000) tree would hang at the limit instead of being OOM-killed.
            fd = os.open(b"/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    return enter


def _oom_score_adj() -> int:
    try:
        with open("/proc/self/oom_score_adj") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _open_output(stack: ExitStack, path: Path | None, what: str) -> IO[bytes] | None:
    # Appended to (O_APPEND), so a log the caller started is kept and both streams
    # can share one file without overwriting each other.
    if path is None:
        return None
    try:
        return stack.enter_context(open(path, "ab"))
    except OSError as exc:
        raise UsageError(f"cannot write the command's {what} to {path}: {exc.strerror}") from exc


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
    stop: threading.Event | None,
) -> MeasureResult:
    # The cgroup backends poll less often: the kernel keeps the tree's peak.
    interval_s = group.poll_interval_s(interval_ms / 1000) if group else interval_ms / 1000
    harness_hwm = self_hwm_bytes()
    preexec = None
    if group is not None:
        preexec = _preexec(group.enter_paths(), limit_bytes is not None and _oom_score_adj() < 0)
    with ExitStack() as stack:
        out = _open_output(stack, stdout, "stdout")
        same = stdout is not None and stderr is not None and Path(stdout) == Path(stderr)
        err = out if same else _open_output(stack, stderr, "stderr")  # one file: like 2>&1
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group; Ctrl-C reaches only us
                preexec_fn=preexec,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise UsageError(f"cannot run {argv[0]}: {exc.strerror}") from exc
        except subprocess.SubprocessError as exc:  # preexec failed: could not join the cgroup
            where = group.directory if group is not None else "?"
            raise MeasureError(f"could not start {argv[0]} inside {where}: {exc}") from exc

    waiter = Waiter(proc.pid)
    waiter.start()
    killer = TreeKiller(proc.pid, None, group)
    timed_out = stopped = False
    stragglers = 0
    sampler: Sampler | None = None
    try:
        sampler = Sampler(
            proc.pid,
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
            timed_out = not stopped
            killer.terminate(grace_s, "stopped by the caller" if stopped else "timeout")
            if not waiter.done.wait(KILL_WAIT_S):
                log.warning("pid %d did not end after SIGKILL", proc.pid)
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

    exit_code = os.waitstatus_to_exitcode(waiter.status) if waiter.status is not None else None
    if exit_code is not None:
        proc.returncode = exit_code  # we reaped it; tell Popen so it does not warn
    wall_s = (waiter.end or time.perf_counter()) - t0

    details: dict[str, Any] = {
        "interval_ms": round(interval_s * 1000, 3),
        "grace_s": grace_s,
        "timeout_s": timeout_s,
        "polls": sampler.polls,
        "late_polls": sampler.late_polls,
        "sampler_cpu_s": round(sampler.cpu_s, 6),
        "peak_rss_sum_bytes": sampler.peak_rss_sum_bytes,
        "harness_hwm_bytes": harness_hwm,
        "stragglers": stragglers,
    }
    if stopped:
        details["stopped"] = True
    # ru_maxrss: a process's maxrss starts at its parent's high-water mark across
    # fork+exec, so it is only evidence about the tree when it exceeds ours.
    ru_maxrss = waiter.rusage.ru_maxrss * 1024 if waiter.rusage is not None else 0
    ru_trusted = ru_maxrss > harness_hwm
    details["ru_maxrss_bytes"] = ru_maxrss
    details["ru_maxrss_trusted"] = ru_trusted
    peak_single = max(sampler.peak_single_bytes, ru_maxrss if ru_trusted else 0)

    ru = waiter.rusage
    wait4_cpu = (ru.ru_utime, ru.ru_stime) if ru is not None else (0.0, 0.0)
    sampled_cpu = sampler.cpu_times()
    details["cpu_wait4_s"] = [round(x, 3) for x in wait4_cpu]
    details["cpu_sampled_s"] = [round(x, 3) for x in sampled_cpu]
    group_cpu = group.cpu_times() if group is not None else None
    if group is not None and group_cpu is not None:
        cpu, details["cpu_source"] = group_cpu, group.cpu_source
    elif sum(wait4_cpu) >= sum(sampled_cpu):
        cpu, details["cpu_source"] = wait4_cpu, "wait4"
    else:
        cpu, details["cpu_source"] = sampled_cpu, "sampled"

    if group is not None:
        peak_tree = group.peak_bytes()
        details.update(group.details())
        oom_kills = group.oom_kills()
        if oom_kills is None:  # kernel without an oom_kill counter: limit hit and SIGKILLed
            failcnt = details.get("failcnt", 0)
            oom_kills = int(bool(failcnt) and exit_code == -9)
    else:
        peak_tree = max(sampler.peak_rss_sum_bytes, peak_single)
        details["peak_pss_sum_bytes"] = sampler.peak_pss_sum_bytes
        details["pss_reads"] = sampler.pss_reads
        oom_kills = int(sampler.limit_hit)
        if limit_bytes is not None:
            details["limit_enforced_by"] = "sampler: tree killed when summed RSS passed the limit"
    details["oom_kills"] = oom_kills
    if killer.report.reasons:
        details["kill"] = killer.report.as_dict()
    details["top_processes"] = sampler.top_processes()

    status: Status
    if oom_kills:
        status = "oom"
    elif timed_out:
        status = "timeout"
    elif exit_code == 0 or stopped:
        status = "ok"
    else:
        status = "error"
    return MeasureResult(
        backend=cast(Backend, backend),
        status=status,
        exit_code=exit_code,
        wall_s=round(wall_s, 6),
        user_cpu_s=round(cpu[0], 6),
        system_cpu_s=round(cpu[1], 6),
        peak_tree_bytes=peak_tree,
        peak_single_bytes=peak_single,
        processes_seen=max(1, sampler.processes_seen),
        limit_bytes=limit_bytes,
        details=details,
    )
