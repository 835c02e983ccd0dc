"""The seven options of Cosmos's memory guide ("Memory Optimization Options"): what the
guide says each does and how strongly, and the contrasts of axis values that measure
each (harness.guide.rows pairs the scenarios and gives the verdicts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PairsOf = Callable[[list[Any]], list[tuple[Any, Any]]]


def fixed(with_value: Any, without_value: Any) -> PairsOf:
    """The option's value against the value without it, when both were measured."""
    return lambda present: (
        [(with_value, without_value)] if with_value in present and without_value in present else []
    )


def lowest_against_higher(present: list[Any]) -> list[tuple[Any, Any]]:
    """Concurrency: the lowest value measured against each higher one."""
    values = sorted(present)
    return [(values[0], v) for v in values[1:]]


@dataclass(frozen=True)
class Contrast:
    """Scenarios of ``phase`` differing only in ``axis`` (and the ``ignore`` axes)."""

    phase: str
    axis: str
    pairs: PairsOf
    label: str
    ignore: tuple[str, ...] = ()
    """Axes the option makes irrelevant (None on one side), left out of the matching."""
    where_without: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """Restrictions on the side without the option, e.g. DBT_LS only on a cache miss."""
    on_worker: bool = False
    """Celery dag_runs only, judged on the worker's peak (figures.workers: the tasks'
    worker, WATCHER's producer's), one group per worker_concurrency
    (harness.guide.workers). The other contrasts leave Celery runs out: their own peak
    is the scheduler loop's."""
    metrics: tuple[str, ...] | None = None
    """The metrics judged, when not the option's own."""
    summed: bool = False
    """On a worker, the peaks of every worker of the run summed (what a deployment gives
    its workers together), not the one worker that runs dbt: for a contrast whose sides
    run different workers (WATCHER's producer's and sensors' against LOCAL's tasks')."""
    slice_misses: str | None = None
    """Why a DAG run of N of the models (run_nodes) does not measure this contrast (None:
    it does): such runs are left out of its pairs, and the sizes only they measured say
    this instead of a verdict."""


SLICE_MISSES_PRODUCER = (
    "measured on run_nodes slices only, where WATCHER's producer builds the slice, "
    "not the project"
)
"""A slice meets a LOCAL worker's peak (each task carries the whole project), not
WATCHER's: its one producer builds N models where a whole run's builds all of them,
and the producer's peak grows with the models it builds (docs/ARCHITECTURE.md,
"Sizing")."""


@dataclass(frozen=True)
class GuideOption:
    """One numbered section of the guide."""

    number: int
    key: str
    title: str
    impact: str
    """The guide's own words for the size of the effect."""
    claim: str
    metrics: tuple[str, ...]
    """The metrics the claim is about (memory, time, slots)."""
    contrasts: tuple[Contrast, ...]
    kind: str = "reduces"
    """"reduces": the option should lower the metrics; "no_overhead": it should not raise
    them (judged by an equivalence test); "per_slot": a cost per unit of the axis (the
    row gives the fitted MiB and seconds per step, not a direction)."""
    setting: str | None = None
    """The Cosmos setting (``[cosmos]`` option) behind it: where the installed Cosmos never
    uses it, the verdict is "no effect in this version" (harness.guide.evidence)."""


_LS = ("DBT_LS", "AUTOMATIC")

OPTIONS: tuple[GuideOption, ...] = (
    GuideOption(
        1,
        "memory_optimised_imports",
        "Enable memory-optimised imports",
        "High",
        "Reduces memory footprint both at the DAG Processor and at Worker nodes.",
        ("memory",),
        (
            Contrast("import", "memory_optimised_imports", fixed(True, False), "import: on vs off"),
            Contrast(
                "dag_parse", "memory_optimised_imports", fixed(True, False), "dag_parse: on vs off"
            ),
            Contrast("task", "memory_optimised_imports", fixed(True, False), "task: on vs off"),
        ),
        setting="enable_memory_optimised_imports",
    ),
    GuideOption(
        2,
        "dbt_manifest",
        "Use DBT_MANIFEST load mode",
        "High",
        "Avoids running the dbt ls subprocess; reduces memory when the dbt ls cache misses.",
        ("memory",),
        (
            Contrast(
                "dag_parse",
                "load_mode",
                fixed("DBT_MANIFEST", "DBT_LS"),
                "dag_parse: DBT_MANIFEST vs DBT_LS, cache miss",
                # collapsed to None when no dbt ls runs (harness.scenarios.model.effective)
                ignore=("cache", "render_invocation", "partial_parse", "enable_mock_profile"),
                where_without={"cache": ("cold",)},
            ),
        ),
    ),
    GuideOption(
        3,
        "dbt_runner",
        "Use DBT_RUNNER invocation mode",
        "Medium-High",
        "Can reduce subprocess overhead and memory usage compared to subprocess mode.",
        ("memory",),
        (
            Contrast(
                "task",
                "execution_invocation",
                fixed("DBT_RUNNER", "SUBPROCESS"),
                "task: DBT_RUNNER vs SUBPROCESS",
            ),
            Contrast(
                "dag_run",
                "execution_invocation",
                fixed("DBT_RUNNER", "SUBPROCESS"),
                "dag_run (LocalExecutor): DBT_RUNNER vs SUBPROCESS",
            ),
            # Where the claim is made (Cosmos #2295: OOM kills with dbtRunner on a worker at
            # worker_concurrency 4): the worker's peak, and the time the run took.
            Contrast(
                "dag_run",
                "execution_invocation",
                fixed("DBT_RUNNER", "SUBPROCESS"),
                "dag_run on a Celery worker, the claim's own setting: DBT_RUNNER vs "
                "SUBPROCESS, the worker's peak (LOCAL: the tasks' worker; WATCHER: the "
                "producer's) and the run's time, at each worker_concurrency",
                on_worker=True,
                metrics=("memory", "time"),
            ),
            Contrast(
                "dag_parse",
                "render_invocation",
                fixed("DBT_RUNNER", "SUBPROCESS"),
                "dag_parse (dbt ls, cache miss): DBT_RUNNER vs SUBPROCESS",
                where_without={"cache": ("cold",), "load_mode": _LS},
            ),
        ),
    ),
    GuideOption(
        4,
        "partial_parse",
        "Use partial parse (keep enabled)",
        "Low",
        "Actually reduces memory by avoiding full project parsing.",
        ("memory",),
        (
            # the msgpack's state only exists with partial parse on
            Contrast(
                "dag_parse",
                "partial_parse",
                fixed(True, False),
                "dag_parse: on vs off",
                ignore=("partial_parse_state",),
            ),
            Contrast(
                "task",
                "partial_parse",
                fixed(True, False),
                "task: on vs off",
                ignore=("partial_parse_state",),
            ),
            Contrast("dag_run", "partial_parse", fixed(True, False), "dag_run: on vs off"),
        ),
    ),
    GuideOption(
        5,
        "watcher",
        "Use ExecutionMode.WATCHER",
        "Very High",
        "Dramatically reduces Airflow worker slot usage and memory consumption.",
        ("memory", "slots"),
        (
            Contrast(
                "dag_run",
                "execution_mode",
                fixed("WATCHER", "LOCAL"),
                "dag_run: WATCHER vs LOCAL",
                slice_misses=SLICE_MISSES_PRODUCER,
            ),
            # On Celery WATCHER runs two workers (the producer's, the sensors') where LOCAL
            # runs one: the memory the deployment gives its workers is their sum.
            Contrast(
                "dag_run",
                "execution_mode",
                fixed("WATCHER", "LOCAL"),
                "dag_run on Celery workers: WATCHER vs LOCAL, the workers' peaks summed "
                "(WATCHER: the producer's and the sensors'; LOCAL: the tasks'), at each "
                "worker_concurrency",
                on_worker=True,
                summed=True,
                slice_misses=SLICE_MISSES_PRODUCER,
            ),
        ),
    ),
    GuideOption(
        6,
        "concurrency",
        "Control DAG-level concurrency",
        "High",
        "Limits concurrent task execution per DAG based on available resources.",
        ("memory",),
        (
            Contrast(
                "dag_run",
                "concurrency",
                lowest_against_higher,
                "dag_run: lowest vs higher concurrency",
            ),
        ),
        kind="per_slot",
    ),
    GuideOption(
        7,
        "debug_mode",
        "Enable task profiling with debug mode",
        "Low",
        "Provides visibility into memory usage; adds minimal overhead.",
        ("memory", "time"),
        (
            # the poll interval only exists with debug mode on
            Contrast(
                "task",
                "debug_mode",
                fixed(True, False),
                "task: on vs off",
                ignore=("debug_poll_s",),
            ),
            Contrast(
                "dag_run",
                "debug_mode",
                fixed(True, False),
                "dag_run: on vs off",
                ignore=("debug_poll_s",),
            ),
        ),
        kind="no_overhead",
    ),
)
assert len(OPTIONS) == 7
