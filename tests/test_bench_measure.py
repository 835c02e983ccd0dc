"""Overhead of harness.measure: the sampler's CPU, and no helper process for the cgroup backends.

Run with: pytest tests/test_bench_measure.py --benchmark-only
(the default addopts skip benchmarks). The figures are in README.md, "Measurement".

CPU cost: the harness process's own CPU time (getrusage RUSAGE_SELF: every
thread of it) while it measures a tree that sleeps, divided by the wall time:
the share of one core the measurement takes from the machine. Other work on
the machine inflates it (a woken thread finds its caches cold), so each figure
is taken ROUNDS times and the bound is checked on the quietest round, as
pyperf and pytest-benchmark report minima; the median is recorded too.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from typing import Any

import psutil
import pytest

from harness.measure import measure
from harness.measure.backends import BACKENDS, unavailable_reason

SECONDS = 3
ROUNDS = 3


def sleeping_tree(n: int) -> list[str]:
    """A shell and n - 1 sleeping children: n processes that use no CPU."""
    return ["sh", "-c", " ".join([f"sleep {SECONDS} &"] * (n - 1)) + " wait"]


def own_cpu_share(cmd: list[str], backend: str) -> dict[str, Any]:
    """Measure cmd; the harness's CPU seconds per wall second while doing so."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    result = measure(cmd, backend=backend)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "backend": backend,
        "processes": result.processes_seen,
        "interval_ms": result.details["interval_ms"],
        "polls": result.details["polls"],
        "harness_cpu_s": round(cpu, 4),
        "wall_s": round(wall, 3),
        "percent_of_one_core": round(100 * cpu / wall, 3),
    }


def rounds_of(cmd: list[str], backend: str) -> dict[str, Any]:
    """ROUNDS measurements; the quietest one, with the median share beside it."""
    runs = [own_cpu_share(cmd, backend) for _ in range(ROUNDS)]
    shares = sorted(r["percent_of_one_core"] for r in runs)
    best = min(runs, key=lambda r: r["percent_of_one_core"])
    return {**best, "median_percent_of_one_core": shares[len(shares) // 2], "rounds": ROUNDS}


def _require(backend: str) -> None:
    reason = unavailable_reason(backend)
    if reason is not None:
        pytest.skip(f"backend {backend} is not available here: {reason}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_cpu_cost_small_tree(benchmark: Any, backend: str) -> None:
    """The issue's bound: the sampler takes at most 1% of one core at its default interval.

    Checked for the sample backend on a sleeping tree of 3 processes; the
    cgroup backends' side sampler (same thread, same interval) is recorded.
    """
    _require(backend)
    info = benchmark.pedantic(rounds_of, args=(sleeping_tree(3), backend), rounds=1,
                              iterations=1)
    benchmark.extra_info.update(info)
    print(info)
    assert info["processes"] == 3
    if backend == "sample":
        assert info["percent_of_one_core"] <= 1.0, info
    else:
        assert info["percent_of_one_core"] <= 2.0, info


@pytest.mark.parametrize("backend", BACKENDS)
def test_cpu_cost_twenty_processes(benchmark: Any, backend: str) -> None:
    """The truth for a bigger tree: the cost grows a few microseconds a process a poll."""
    _require(backend)
    info = benchmark.pedantic(rounds_of, args=(sleeping_tree(20), backend), rounds=1,
                              iterations=1)
    benchmark.extra_info.update(info)
    print(info)
    assert info["processes"] == 20
    assert info["percent_of_one_core"] <= 5.0, info


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
