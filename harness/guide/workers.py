"""The invocation's claim where it is made: a Celery worker (Cosmos #2295 reports more OOM
kills with dbtRunner on a worker at worker_concurrency 4).

A Celery dag_run's own peak is its scheduler loop's; its tasks ran in the workers' cgroups
(figures.workers). A contrast ``on_worker`` (harness.guide.options) judges such a pair on
the peak of the worker that runs dbt: the tasks' worker under LOCAL, the producer's under
WATCHER (its sensors run no dbt), read as harness.compare.upgrade reads the largest
worker's (harness.compare.samples.worker_peaks). Each worker_concurrency is a place of its
own in the row, so that a concurrency or a size that disagrees makes the row "mixed",
with where. A contrast whose sides run different workers (WATCHER against LOCAL) is
judged on the run's workers' peaks summed instead (Contrast.summed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.compare.configs import on_celery
from harness.compare.samples import ScenarioSamples, worker_peaks
from harness.guide.options import Contrast
from harness.registry.values import AxisValues


def worker_role(axes: dict[str, Any]) -> str:
    """The role of the Celery worker that runs dbt: WATCHER's producer, else the tasks'."""
    return "producer" if AxisValues.of(axes).execution_mode == "WATCHER" else "tasks"


def runs_on(c: Contrast, axes: dict[str, Any]) -> bool:
    """Whether a scenario can be one side of the contrast's pairs: Celery runs only on a
    worker, every other run elsewhere (a Celery run's own peak is its scheduler loop's)."""
    return on_celery(axes) == c.on_worker


def judged_samples(c: Contrast, s: ScenarioSamples) -> ScenarioSamples:
    """The samples a contrast judges: on a worker, the memory is the worker's peak of each
    repetition (none when no such worker was recorded: the pair has no memory change)."""
    if not c.on_worker:
        return s
    roles = None if c.summed else (worker_role(s.axes),)
    peaks = worker_peaks(s, roles, total=c.summed)
    return dataclasses.replace(s, values={**s.values, "memory": peaks})


def place(c: Contrast, s: ScenarioSamples) -> str:
    """Where a pair was measured, as the row's "where" names it: the phase, or the
    worker and its concurrency."""
    if not c.on_worker:
        return c.phase
    k = s.ax.worker_concurrency
    if c.summed:
        return f"{c.phase}, Celery workers summed at worker_concurrency {k}"
    return f"{c.phase}, Celery {worker_role(s.axes)} worker at worker_concurrency {k}"
