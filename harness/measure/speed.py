"""The machine's speed: the CPU time a fixed pure-Python loop takes.

Peak memory does not depend on it; every time figure does. A VM can run at different
speeds on the "same" machine (a Firecracker VM whose host is shared or changes between
sessions). On 2026-12-02 the same Celery run here took 1.5-1.9 times the CPU-seconds in
the afternoon that it took in the morning, nothing else running. The machine, not the
code: the morning's code run again in the evening took 1.6 times its morning CPU-seconds
too, and this loop took 0.112-0.117 s in the evening against 0.069 s at night. The harness takes
this reference when a run starts and at every resume (run.json ``cpu_reference``), so a
run says at what speed each of its parts ran, and ``harness compare`` warns when two runs
differ by more than SPEED_TOLERANCE.

The loop is plain bytecode (integer arithmetic and a modulo), the interpreter's own
speed, as the Airflow, Cosmos and dbt code the harness times is mostly Python. Best of
REPEATS: a moment of contention can only make one repetition slower.
"""

from __future__ import annotations

import time

LOOP_N = 1_000_000
REPEATS = 5
SPEED_TOLERANCE = 0.10
"""Two references further apart than this (relative) are different speeds."""


def _loop(n: int) -> int:
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1_000_003
    return x


def loop_cpu_s(n: int = LOOP_N, repeats: int = REPEATS) -> float:
    """The least CPU time (seconds, this process's) that ``repeats`` runs of the loop of
    ``n`` steps took."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        _loop(n)
        best = min(best, time.process_time() - t0)
    return round(best, 4)


def speed_ratio(a: float, b: float) -> float:
    """b's loop time over a's: above 1, b's machine ran slower."""
    return b / a if a > 0 else float("inf")


def differ(a: float, b: float) -> bool:
    """Whether two references are different speeds (beyond SPEED_TOLERANCE)."""
    return abs(speed_ratio(a, b) - 1.0) > SPEED_TOLERANCE


def mixed(refs: list[float]) -> bool:
    """Whether a run's references (start and resumes) hold different speeds: its times
    then mix them."""
    return bool(refs) and differ(min(refs), max(refs))
