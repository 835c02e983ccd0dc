"""Overhead of harness.measure: the sampler's CPU, and no helper process for the cgroup backends.

Run with: pytest tests/test_bench_measure.py --benchmark-only
(the default addopts skip benchmarks). The figures are in README.md, "Measurement".

CPU cost: the sampler's own CPU time (its thread's CPU clock, wake-ups
included, plus the polls other threads ask for: details ``sampler_cpu_s``)
divided by the wall time: the share of one core it takes from the machine. The
whole harness process's CPU over the call (getrusage RUSAGE_SELF: starting the
command, the cgroup, the results) is recorded beside it. Other work on the
machine inflates both (a woken thread finds its caches cold), so each figure is
taken ROUNDS times and the bound is checked on the quietest round, as pyperf
and pytest-benchmark report minima; the median is recorded too.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from typing import Any

import psutil
import pytest

from harness.measure import measure
from harness.measure.backends import BACKENDS, unavailable_reason

SECONDS = 3
ROUNDS = 5


BOUND_PERCENT = 1.0
"""The issue's bound: the sampler costs at most 1% of one core at its default interval."""


def sleeping_tree(n: int) -> list[str]:
    """A shell and n - 1 sleeping children: n processes that use no CPU."""
    return ["sh", "-c", " ".join([f"sleep {SECONDS} &"] * (n - 1)) + " wait"]


CHURN = """
import time
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    b = bytearray(32 << 20)
    b[::4096] = b"\\x01" * (len(b) // 4096)
    del b
"""


def busy_tree(n: int) -> list[str]:
    """A shell and n - 1 Pythons that allocate, touch and free 32 MiB in a loop:
    a tree whose memory moves all the time and whose CPUs are busy."""
    code = CHURN.format(seconds=SECONDS)  # no single quote in it: safe inside '...'
    child = f"{sys.executable} -c '{code}' &"
    return ["sh", "-c", " ".join([child] * (n - 1)) + " wait"]


def own_cpu_share(cmd: list[str], backend: str) -> dict[str, Any]:
    """Measure cmd; the harness's CPU seconds per wall second while doing so."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    result = measure(cmd, backend=backend)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sampler_cpu = result.details["sampler_cpu_s"]
    assert 0 < sampler_cpu <= cpu, (sampler_cpu, cpu)  # a part of the process's CPU
    return {
        "backend": backend,
        "processes": result.processes_seen,
        "interval_ms": result.details["interval_ms"],
        "polls": result.details["polls"],
        "late_polls": result.details["late_polls"],
        "sampler_cpu_s": round(sampler_cpu, 4),
        "harness_cpu_s": round(cpu, 4),
        "wall_s": round(wall, 3),
        "percent_of_one_core": round(100 * sampler_cpu / wall, 3),
        "harness_percent_of_one_core": round(100 * cpu / wall, 3),
    }


def rounds_of(cmd: list[str], backend: str) -> dict[str, Any]:
    """ROUNDS measurements; the quietest one, with the median shares beside it."""
    runs = [own_cpu_share(cmd, backend) for _ in range(ROUNDS)]
    best = min(runs, key=lambda r: r["percent_of_one_core"])
    median = {f"median_{key}": sorted(r[key] for r in runs)[len(runs) // 2]
              for key in ("percent_of_one_core", "harness_percent_of_one_core")}
    return {**best, **median, "rounds": ROUNDS}


def _require(backend: str) -> None:
    reason = unavailable_reason(backend)
    if reason is not None:
        pytest.skip(f"backend {backend} is not available here: {reason}")


@pytest.mark.parametrize("processes", [3, 20])
@pytest.mark.parametrize("backend", BACKENDS)
def test_cpu_cost_sleeping_tree(benchmark: Any, backend: str, processes: int) -> None:
    """The issue's bound: the sampler takes at most 1% of one core at its default
    interval (10 ms for sample; the cgroup backends' side sampler polls every 100 ms)."""
    _require(backend)
    info = benchmark.pedantic(rounds_of, args=(sleeping_tree(processes), backend), rounds=1,
                              iterations=1)
    benchmark.extra_info.update(info)
    print(info)
    assert info["processes"] == processes
    assert info["percent_of_one_core"] <= BOUND_PERCENT, info


@pytest.mark.parametrize("backend", BACKENDS)
def test_cpu_cost_busy_tree(benchmark: Any, backend: str) -> None:
    """The figure for a tree that keeps both CPUs busy and its memory moving: the
    sampler's thread waits for a CPU and finds its caches cold, so each poll
    costs more. Recorded, with a loose sanity bound."""
    _require(backend)
    info = benchmark.pedantic(rounds_of, args=(busy_tree(5), backend), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    print(info)
    assert info["processes"] >= 5
    assert info["percent_of_one_core"] <= 3 * BOUND_PERCENT, info


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_process_added(benchmark: Any, backend: str) -> None:
    """While the command runs, every process under the harness is the command's.

    The harness adds threads (the sampler and the wait4 reaper), never a
    process: its descendants are exactly the tree (for cgroup backends: exactly
    the cgroup's members).
    """
    _require(backend)
    me = psutil.Process()
    threads_before = me.num_threads()
    descendants: set[int] = set()
    members: set[int] = set()
    threads_during = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal threads_during
        mount = "/sys/fs/cgroup/memory" if backend == "cgroup1" else "/sys/fs/cgroup"
        while not stop.is_set():
            descendants.update(p.pid for p in me.children(recursive=True))
            threads_during = max(threads_during, me.num_threads() - 1)  # minus this watcher
            for entry in os.scandir(mount) if backend != "sample" else ():
                if entry.name.startswith(f"harness-{os.getpid()}-"):
                    with open(os.path.join(entry.path, "cgroup.procs")) as f:
                        members.update(int(x) for x in f.read().split())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = benchmark.pedantic(measure, args=(["sh", "-c", "sleep 2 & sleep 2 & wait"],),
                                    kwargs={"backend": backend}, rounds=1, iterations=1)
    finally:
        stop.set()
        watcher.join()
    info = {
        "backend": backend,
        "tree_processes": result.processes_seen,
        "descendants_of_harness": len(descendants),
        "harness_threads_added": threads_during - threads_before,
    }
    benchmark.extra_info.update(info)
    print(info)
    assert len(descendants) == 3, descendants  # sh and two sleeps: nothing else
    if backend != "sample":
        assert descendants == members
    assert threads_during - threads_before <= 2
