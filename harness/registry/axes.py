"""The axes: every option a scenario can vary, declared once.

An axis says its type and values, its default, the phases it can change, when it
acts (an option Cosmos ignores in a combination is collapsed to None so that equal
measurements get equal ids), and how it reaches Cosmos or Airflow. A scenario id
lists a phase's axes in the order of AXES.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any, Literal

from harness.registry.names import (
    BASELINE,
    BUILDS_DAG,
    DAG_RUN,
    IMPORT,
    MIN_WORKER,
    PARSE,
    POD_SIZE,
    RUNS_TASKS,
    SOAK,
    TASK,
)
from harness.registry.releases import cosmos_refusal, dbt_refusal

# How an axis reaches the system under test.
Reach = Literal["dag_file", "env", "config", "harness"]
"""dag_file: an argument in the generated DAG file; env: an AIRFLOW__/dbt variable set
before the process starts (Cosmos reads its settings at import); config: Airflow's
own configuration; harness: how the harness sets up or measures (cache state, limit)."""

TEST_BEHAVIORS = ("after_each", "build", "after_all", "none")
INDIRECT_SELECTIONS = ("eager", "cautious", "buildable", "empty")
LOAD_MODES = ("DBT_LS", "DBT_MANIFEST", "DBT_LS_FILE", "AUTOMATIC", "CUSTOM")
INVOCATIONS = ("DBT_RUNNER", "SUBPROCESS")
EXECUTION_MODES = ("LOCAL", "WATCHER", "VIRTUALENV")
EXECUTORS = ("local", "celery")
TASK_GROUP_COUNTS = (1, 10, 36)
"""The task_groups a generated project is sliced for: the generator tags every model
with its slice for each count (slice_tag), so a group selects its slice with one
`tag:` selector as users select a subject area. A list of model names instead costs
Cosmos one pass over every node per name (at 1000 models, past Airflow's import
timeout with a single group)."""


def slice_tag(k: int, groups: int) -> str:
    """The tag of slice ``k`` (from 0) of ``groups``: what task group k selects."""
    return f"slice_{k + 1}_of_{groups}"

Acts = Callable[[Mapping[str, Any], str], bool]
"""(the scenario's axis values, the phase) -> whether the axis acts there."""


def runs_dbt_ls(values: Mapping[str, Any]) -> bool:
    """Whether Cosmos runs dbt ls to render the DAG (a cache miss of these load modes)."""
    return values.get("load_mode") in ("DBT_LS", "AUTOMATIC")


def _always(values: Mapping[str, Any], phase: str) -> bool:
    return True


def _with_dbt_ls(values: Mapping[str, Any], phase: str) -> bool:
    return runs_dbt_ls(values)


def _where_dbt_runs(values: Mapping[str, Any], phase: str) -> bool:
    # A parse without dbt ls runs no dbt: no partial parse, no profile.
    return phase != PARSE or runs_dbt_ls(values)


RUN_NODES_MAX = 256
"""run_nodes above this is no longer a slice: Cosmos matches each selected name in one
pass over every node (trap 23), so the selection itself would cost the parse."""
MAX_SLOTS = 256
"""concurrency and worker_concurrency: at most this many task slots."""
MAX_CELERY_WORKERS = 64
"""celery_workers: at most this many workers on one machine."""
MAX_LIMIT_MIB = 1_048_576
"""worker_limit_mib: at most 1 TiB."""

PARTIAL_PARSE_STATES = ("none", "cache_dir", "shipped", "changed")


def _with_partial_parse_state(values: Mapping[str, Any], phase: str) -> bool:
    # A msgpack matters only where dbt parses with partial parse on: every task, and a
    # DAG parse whose dbt ls misses its cache (a hit runs no dbt).
    if not values.get("partial_parse"):
        return False
    return phase != PARSE or (runs_dbt_ls(values) and values.get("cache") == "cold")


def _with_celery(values: Mapping[str, Any], phase: str) -> bool:
    return values.get("executor") == "celery"


def _with_debug_mode(values: Mapping[str, Any], phase: str) -> bool:
    return bool(values.get("debug_mode"))


def _with_watcher(values: Mapping[str, Any], phase: str) -> bool:
    return values.get("execution_mode") == "WATCHER"


@dataclass(frozen=True)
class Setting:
    """One variable an env or config axis sets, and how its value becomes the string."""

    name: str
    render: Callable[[Any], str] = str
    when: Literal["always", "acts", "changed"] = "acts"
    """always: in every phase, acting or not (the stack's own default can differ from the
    axis's: Airflow's parallelism is 32); acts: where the axis acts; changed: only off
    the axis's default (Airflow's own default stands otherwise, as in the runs recorded
    before the axis)."""
    by: str | None = None
    """None: in the environment of every process of a measurement (stack_env.axis_env);
    else the part of the harness that sets it instead (the Celery deployment)."""


def _true_false(value: bool) -> str:
    """A boolean as Airflow and Cosmos read it from the environment."""
    return "True" if value else "False"


_EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
"""The executor axis's values as [core] executor names them."""


def _processor_timeout(timeout: int) -> str:
    # Airflow's own processor timeout (50 s) would end a longer import anyway.
    return str(max(50, timeout + 20))


def _with_tests(values: Mapping[str, Any], phase: str) -> bool:
    # dbt's indirect selection only picks tests: without test tasks it changes nothing.
    return values.get("test_behavior") != "none"


@dataclass(frozen=True)
class Axis:
    """One option the matrix can vary."""

    name: str
    kind: type
    default: Any
    phases: Set[str]
    """The phases whose figures it can change; elsewhere it is left out of ids and records."""
    reaches: Reach
    doc: str
    choices: tuple[Any, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    """The largest value accepted (a sane bound: a typo of a few digits is refused)."""
    pattern: str | None = None
    """A regular expression a string value must match (instead of choices)."""
    acts: Acts = _always
    """Where it acts within those phases; elsewhere it is collapsed to None."""
    judged_by_cosmos: bool = False
    """Cosmos's config classes may reject a combination of it (harness.run.probes.validate
    passes it to them)."""
    quiet_default: bool = False
    """Leave the default out of ids: for axes added after runs were recorded, so their
    ids stay comparable."""
    sets: tuple[Setting, ...] = ()
    """reaches env or config: what it sets (harness.stack_env.axis_env derives the
    environment of every process of a measurement from these); none otherwise."""
    refuse: Callable[[Any], str | None] | None = None
    """Why a well-formed value cannot run on this stack (harness.registry.releases): the
    scenario file is refused with that line before anything runs."""

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not a value of this axis, or None when it is."""
        if self.kind is bool:
            return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"expected a whole number, got {value!r}"
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum}, got {value}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum}, got {value}"
            if self.choices is not None and value not in self.choices:
                return f"must be one of {self.doc_values()}, got {value}"
            return None
        if self.kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not 0 < value < math.inf:
                return f"expected a finite positive number, got {value!r}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum}, got {value}"
            return None
        if not isinstance(value, str):
            return f"expected a string, got {value!r}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"expected {self.doc_values()}, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"unknown value {value!r} (known: {', '.join(map(str, self.choices))})"
        return self.refuse(value) if self.refuse is not None else None

    def doc_values(self) -> str:
        """The accepted values, as text for errors and docs."""
        if self.choices is not None:
            return ", ".join(map(str, self.choices))
        if self.kind is bool:
            return "true, false"
        if self.pattern == _VERSION:
            return "'locked' or a release such as '1.13.1'"
        if self.minimum is not None and self.maximum is not None:
            return f"a whole number from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"a whole number >= {self.minimum}"
        return self.kind.__name__


_VERSION = r"locked|\d+\.\d+\.\d+"
_ALL_DAG = BUILDS_DAG
_RUN = RUNS_TASKS

AXES: dict[str, Axis] = {
    a.name: a
    for a in (
        Axis("load_mode", str, "DBT_LS", _ALL_DAG, "dag_file",
             "RenderConfig.load_method", choices=LOAD_MODES, judged_by_cosmos=True),
        Axis("cache", str, "cold", _ALL_DAG, "harness",
             "the dbt ls cache (Variable cosmos_cache__<dag_id>) and cached partial parse: "
             "cold (a miss) or warm (after one unmeasured parse)",
             choices=("cold", "warm"), acts=_with_dbt_ls),
        Axis("render_invocation", str, "DBT_RUNNER", _ALL_DAG, "dag_file",
             "RenderConfig.invocation_mode", choices=INVOCATIONS, acts=_with_dbt_ls,
             judged_by_cosmos=True),
        Axis("partial_parse", bool, True, _ALL_DAG | {SOAK}, "env",
             "ProjectConfig.partial_parse and [cosmos] enable_cache_partial_parse",
             acts=_where_dbt_runs,
             sets=(Setting("AIRFLOW__COSMOS__ENABLE_CACHE_PARTIAL_PARSE", _true_false,
                           "always"),)),
        Axis("partial_parse_state", str, "none", {PARSE, TASK}, "harness",
             "the msgpack dbt finds: none; cache_dir (an earlier unmeasured dbt ls, mock "
             "profile off, left one in the Cosmos cache_dir, as on a long-lived worker); "
             "shipped (target/partial_parse.msgpack from `dbt parse` with the runtime "
             "profile, as a deployment image ships it); changed (cache_dir, then one model "
             "edited, as after a deploy)",
             choices=PARTIAL_PARSE_STATES, acts=_with_partial_parse_state, quiet_default=True),
        Axis("enable_mock_profile", bool, True, _ALL_DAG, "dag_file",
             "RenderConfig.enable_mock_profile", acts=_where_dbt_runs, judged_by_cosmos=True),
        Axis("execution_mode", str, "LOCAL", _ALL_DAG, "dag_file",
             "ExecutionConfig.execution_mode", choices=EXECUTION_MODES, judged_by_cosmos=True),
        Axis("memory_optimised_imports", bool, False, _ALL_DAG | {IMPORT}, "env",
             "[cosmos] enable_memory_optimised_imports (and the DAG file's imports)",
             sets=(Setting("AIRFLOW__COSMOS__ENABLE_MEMORY_OPTIMISED_IMPORTS",
                           _true_false, "always"),)),
        Axis("worker_limit_mib", int, 0, (_ALL_DAG | {IMPORT, BASELINE}) - {MIN_WORKER, POD_SIZE},
             "harness", "a cgroup memory limit on the measured tree; 0 = none", minimum=0,
             maximum=MAX_LIMIT_MIB),
        Axis("execution_invocation", str, "DBT_RUNNER", _RUN | {SOAK}, "dag_file",
             "ExecutionConfig.invocation_mode", choices=INVOCATIONS, judged_by_cosmos=True),
        Axis("debug_mode", bool, False, _RUN, "env", "[cosmos] enable_debug_mode",
             sets=(Setting("AIRFLOW__COSMOS__ENABLE_DEBUG_MODE", _true_false, "always"),)),
        Axis("debug_poll_s", float, 0.5, _RUN, "env",
             "[cosmos] debug_memory_poll_interval_seconds (with debug_mode on)",
             acts=_with_debug_mode, maximum=3600,
             sets=(Setting("AIRFLOW__COSMOS__DEBUG_MEMORY_POLL_INTERVAL_SECONDS"),)),
        Axis("concurrency", int, 1, {DAG_RUN, MIN_WORKER, BASELINE}, "config",
             "DAG max_active_tasks, [core] parallelism, dbt_baseline's dbt --threads (not "
             "WATCHER's producer's: producer_threads)", minimum=1,
             maximum=MAX_SLOTS,
             # The LocalExecutor forks `parallelism` workers up front (trap 6).
             sets=(Setting("AIRFLOW__CORE__PARALLELISM", when="always"),
                   Setting("AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG", when="always"))),
        Axis("cosmos_version", str, "locked", _ALL_DAG | {IMPORT}, "harness",
             "'locked' (uv.lock) or a release such as '1.14.2' installed beside it: every "
             "measured process (the task's CLI, the scheduler loop, the workers, the "
             "triggerer) runs that environment (harness.stack.altenv); one older than 1.10.0 "
             "(no Airflow 3 support) is refused",
             pattern=_VERSION, quiet_default=True, refuse=cosmos_refusal),
        Axis("import_target", str, "DbtDag", {IMPORT}, "harness",
             "import phase: DbtDag as a DAG file imports it, or the cosmos package alone as "
             "Airflow's provider and plugin loading does",
             choices=("DbtDag", "package"), quiet_default=True),
        Axis("test_behavior", str, "after_each", _ALL_DAG, "dag_file",
             "RenderConfig.test_behavior: a test task after each model, one `dbt build` per "
             "model, all tests at the end, or none (it changes the number of tasks)",
             choices=TEST_BEHAVIORS, judged_by_cosmos=True, quiet_default=True),
        Axis("test_indirect_selection", str, "eager", _RUN, "dag_file",
             "ExecutionConfig.test_indirect_selection: dbt's --indirect-selection, which "
             "tests a model's selection brings along (a relationships test of two models)",
             choices=INDIRECT_SELECTIONS, acts=_with_tests, judged_by_cosmos=True,
             quiet_default=True),
        Axis("executor", str, "local", {DAG_RUN, MIN_WORKER}, "config",
             "[core] executor: local (LocalExecutor) or celery (CeleryExecutor with a Redis "
             "broker and Celery workers, each measured in its own cgroup)",
             choices=EXECUTORS, quiet_default=True,
             sets=(Setting("AIRFLOW__CORE__EXECUTOR", _EXECUTORS.__getitem__,
                           by="harness.stack.celery.celery_env"),)),
        Axis("worker_concurrency", int, 1, {DAG_RUN, MIN_WORKER}, "config",
             "[celery] worker_concurrency: task slots of each Celery worker", minimum=1,
             maximum=MAX_SLOTS, acts=_with_celery,
             sets=(Setting("--concurrency", by="harness.stack.celery's worker command"),)),
        Axis("celery_workers", int, 1, {DAG_RUN, MIN_WORKER}, "harness",
             "Celery workers on the default queue (WATCHER adds one for its producer's queue)",
             minimum=1, maximum=MAX_CELERY_WORKERS, acts=_with_celery),
        Axis("task_groups", int, 0, {PARSE, TASK, POD_SIZE}, "dag_file",
             "0: one DbtDag; N: a DAG of N DbtTaskGroups sharing the project and manifest, "
             "each selecting its slice of the models by one tag (generated projects only)",
             choices=(0, *TASK_GROUP_COUNTS), quiet_default=True),
        Axis("run_nodes", int, 0, {DAG_RUN, MIN_WORKER}, "dag_file",
             "0: the whole DAG; N: the DAG run covers N models of the whole project "
             "(RenderConfig.select of N mutually independent models, first in build order, "
             "with their tests), from a built warehouse; every task still loads the whole "
             "manifest and dbt parses the whole project, as on a worker of a big project "
             "(but WATCHER's producer builds only the N, so it is not sized from a slice)",
             minimum=0, maximum=RUN_NODES_MAX, quiet_default=True),
        Axis("soak_tasks", int, 200, {SOAK}, "harness",
             "soak: model tasks run in one process", minimum=1, maximum=100_000),
        Axis("dagbag_import_timeout", int, 30, _ALL_DAG, "env",
             "[core] dagbag_import_timeout in seconds (Airflow's default 30; "
             "dag_file_processor_timeout is raised with it when below): a DAG file whose "
             "import takes longer is dropped, by a task's `airflow tasks test` too",
             minimum=1, maximum=86_400, quiet_default=True,
             sets=(Setting("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", when="changed"),
                   Setting("AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT",
                           _processor_timeout, "changed"))),
        Axis("watcher_reliable_retry", bool, True, _RUN, "env",
             "[cosmos] enable_watcher_reliable_retry (Cosmos >= 1.15; on by default): "
             "WATCHER's producer writes its backup of every node's result to an Airflow "
             "Variable as it goes, not only when it fails", acts=_with_watcher,
             quiet_default=True,
             sets=(Setting("AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY", _true_false),)),
        Axis("producer_threads", int, 0, _RUN, "dag_file",
             "WATCHER's producer's dbt --threads (operator_args dbt_cmd_flags); 0: not set, "
             "the profile's threads (1 in the harness's profiles, dbt's default)",
             minimum=0, maximum=MAX_SLOTS, acts=_with_watcher, quiet_default=True),
        Axis("dbt_version", str, "locked", _ALL_DAG | {BASELINE, SOAK}, "harness",
             "'locked' (uv.lock: dbt-core 1.11); any other release is refused with the "
             "reason (1.12 cannot be installed without general internet access: README)",
             pattern=_VERSION, quiet_default=True, refuse=dbt_refusal),
    )
}  # fmt: skip


def effective(values: Mapping[str, Any], phase: str) -> dict[str, Any]:
    """The axis values that shape ``phase``, in AXES order; those that do not act are None."""
    out: dict[str, Any] = {}
    for axis in AXES.values():
        if phase not in axis.phases:
            continue
        value = values[axis.name]
        if not axis.acts(values, phase) or (axis.quiet_default and value == axis.default):
            value = None
        out[axis.name] = value
    return out
