"""From what one measurement saw to its MeasureResult: CPU, peaks, OOM kills, status.

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from harness.measure.cgroupfs import Cgroup
from harness.measure.launch import Waiter
from harness.measure.machine_load import LoadProbe
from harness.measure.result import Backend, MeasureResult, Status
from harness.measure.sampler import Sampler
from harness.measure.tree import TreeKiller


@dataclass
class Seen:
    """Everything one run of the command left to read, once the tree has ended."""

    backend: str
    group: Cgroup | None
    waiter: Waiter
    sampler: Sampler
    killer: TreeKiller
    load: LoadProbe
    limit_bytes: int | None
    timed_out: bool
    stragglers: int
    wall_s: float
    exit_code: int | None
    stopped: bool = False
    """The caller's stop event ended the tree (a service measured from a thread)."""


def _cpu(seen: Seen, details: dict[str, Any]) -> tuple[float, float]:
    """(user, system) seconds of the tree from the best source; its name in details."""
    ru = seen.waiter.rusage
    wait4_cpu = (ru.ru_utime, ru.ru_stime) if ru is not None else (0.0, 0.0)
    sampled_cpu = seen.sampler.cpu_times()
    details["cpu_wait4_s"] = [round(x, 3) for x in wait4_cpu]
    details["cpu_sampled_s"] = [round(x, 3) for x in sampled_cpu]
    group = seen.group
    group_cpu = group.cpu_times() if group is not None else None
    if group is not None and group_cpu is not None:
        cpu, details["cpu_source"] = group_cpu, group.cpu_source
    elif sum(wait4_cpu) >= sum(sampled_cpu):
        cpu, details["cpu_source"] = wait4_cpu, "wait4"
    else:
        cpu, details["cpu_source"] = sampled_cpu, "sampled"
    return cpu


def _peak_and_ooms(seen: Seen, peak_single: int, details: dict[str, Any]) -> tuple[int, int]:
    """The tree's peak and how many of its processes the OOM killer (or the sampler's
    limit) ended; the backend's own figures go into details."""
    group, sampler = seen.group, seen.sampler
    if group is not None:
        peak_tree = group.peak_bytes()
        details.update(group.details())
        oom_kills = group.oom_kills()
        if oom_kills is None:  # kernel without an oom_kill counter: limit hit and SIGKILLed
            failcnt = details.get("failcnt", 0)
            oom_kills = int(bool(failcnt) and seen.exit_code == -9)
        return peak_tree, oom_kills
    details["peak_pss_sum_bytes"] = sampler.peak_pss_sum_bytes
    details["pss_reads"] = sampler.pss_reads
    if seen.limit_bytes is not None:
        details["limit_enforced_by"] = "sampler: tree killed when summed RSS passed the limit"
    return max(sampler.peak_rss_sum_bytes, peak_single), int(sampler.limit_hit)


def _status(seen: Seen, oom_kills: int) -> Status:
    if oom_kills:
        return "oom"
    if seen.timed_out:
        return "timeout"
    return "ok" if seen.exit_code == 0 or seen.stopped else "error"


def build_result(seen: Seen, details: dict[str, Any], harness_hwm: int) -> MeasureResult:
    """The MeasureResult of a finished run; ``details`` already holds the run's settings."""
    sampler = seen.sampler
    details.update({
        "polls": sampler.polls,
        "late_polls": sampler.late_polls,
        "sampler_cpu_s": round(sampler.cpu_s, 6),
        "peak_rss_sum_bytes": sampler.peak_rss_sum_bytes,
        "harness_hwm_bytes": harness_hwm,
        "stragglers": seen.stragglers,
    })
    if seen.stopped:
        details["stopped"] = True
    # ru_maxrss: a process's maxrss starts at its parent's high-water mark across
    # fork+exec, so it is only evidence about the tree when it exceeds ours.
    ru = seen.waiter.rusage
    ru_maxrss = ru.ru_maxrss * 1024 if ru is not None else 0
    ru_trusted = ru_maxrss > harness_hwm
    details["ru_maxrss_bytes"] = ru_maxrss
    details["ru_maxrss_trusted"] = ru_trusted
    peak_single = max(sampler.peak_single_bytes, ru_maxrss if ru_trusted else 0)
    cpu = _cpu(seen, details)
    peak_tree, oom_kills = _peak_and_ooms(seen, peak_single, details)
    details["oom_kills"] = oom_kills
    if seen.killer.report.reasons:
        details["kill"] = seen.killer.report.as_dict()
    details["top_processes"] = sampler.top_processes()
    return MeasureResult(
        backend=cast(Backend, seen.backend),
        status=_status(seen, oom_kills),
        exit_code=seen.exit_code,
        wall_s=round(seen.wall_s, 6),
        user_cpu_s=round(cpu[0], 6),
        system_cpu_s=round(cpu[1], 6),
        peak_tree_bytes=peak_tree,
        peak_single_bytes=peak_single,
        processes_seen=max(1, sampler.processes_seen),
        limit_bytes=seen.limit_bytes,
        details=details,
        load=seen.load.result(cpu[0] + cpu[1]),
    )
