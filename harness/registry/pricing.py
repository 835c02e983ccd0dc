"""How the estimate prices one repetition of each phase, before calibration.

Rough seconds seen on the 2-core machine of the README; harness.run.estimate scales
them by what recorded runs took (issue 11's calibration), so these are a prior, not
a figure the harness reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.registry.axes import runs_dbt_ls

Values = Mapping[str, Any]


def _dbt_ls_parse_s(models: int) -> float:
    return 5.0 + 0.012 * models


def _state_s(v: Values, models: int) -> float:
    """Putting the msgpack of partial_parse_state in place: a priming dbt ls parse
    (cache_dir, changed) or a `dbt parse` (shipped)."""
    state = v.get("partial_parse_state", "none")
    if not v["partial_parse"] or state == "none":
        return 0.0
    return 4.0 + 0.01 * models if state == "shipped" else _dbt_ls_parse_s(models)


def _bare_parse_s(v: Values, models: int) -> float:
    # CUSTOM is Cosmos's own parser of the project's files: no dbt, as a manifest read.
    if v["load_mode"] in ("DBT_MANIFEST", "CUSTOM"):
        return 5.0 + 0.004 * models
    return _dbt_ls_parse_s(models)


def parse_s(v: Values, models: int) -> float:
    """One DAG parse: interpreter and imports, plus dbt's own parse where dbt ls runs
    (and the set-up of its cache and partial-parse state)."""
    s = _bare_parse_s(v, models)
    if runs_dbt_ls(v) and v["cache"] == "warm":
        return s * 2
    return s + (_state_s(v, models) if runs_dbt_ls(v) else 0.0)


def _per_task_s(v: Values) -> float:
    return 1.0 if v["execution_mode"] == "WATCHER" else 6.0


def import_s(v: Values, models: int) -> float:
    """A fresh interpreter importing Airflow and Cosmos."""
    return 4.0


def task_s(v: Values, models: int) -> float:
    """One unmeasured parse to sample the tasks, the partial-parse state, then
    `airflow tasks test` (a DAG parse, then dbt parses the project again)."""
    # Under WATCHER the task measured is the producer: dbt builds the whole project.
    dbt = 0.05 * models if v["execution_mode"] == "WATCHER" else 0.01 * models
    return 2 * _bare_parse_s(v, models) + _state_s(v, models) + 15.0 + dbt


def _tasks(v: Values, models: int) -> float:
    """Task processes of a whole run: a test task after each model (most synthetic
    models have tests), one `dbt build` per model, or the models and one test task."""
    behavior = v.get("test_behavior", "after_each")
    # A run of run_nodes models renders those alone (their tests with them).
    nodes = min(models, v.get("run_nodes") or models)
    return nodes * 2.0 if behavior == "after_each" else nodes * 1.0 + 1


def task_slots(v: Values) -> int:
    """How many tasks of a DAG run can run at once: the Celery workers' slots, else the
    LocalExecutor's concurrency."""
    if v.get("executor") == "celery":
        return max(1, (v.get("celery_workers") or 1) * (v.get("worker_concurrency") or 1))
    return max(1, v.get("concurrency") or 1)


def _run_task_s(v: Values, models: int) -> float:
    # A run_nodes slice runs a few tasks of a big project, each of which re-imports the
    # DAG and has dbt parse the whole project; whole runs are priced as calibrated so far.
    return _per_task_s(v) + (0.01 * models if v.get("run_nodes") else 0.0)


def dag_run_s(v: Values, models: int) -> float:
    """Services start, the parse, and every model task over the concurrency."""
    start = 60.0 if v.get("executor") == "celery" else 25.0
    return start + parse_s(v, models) + _run_task_s(v, models) * _tasks(v, models) / task_slots(v)


def min_worker_s(v: Values, models: int) -> float:
    """About seven whole DAG runs at concurrency 1's pace (the bisection's probes)."""
    return (25.0 + parse_s(v, models) + _run_task_s(v, models) * _tasks(v, models)) * 7


def pod_size_s(v: Values, models: int) -> float:
    """About seven task runs (the bisection's probes), each with its parse."""
    return task_s(v, models) * 7


def soak_s(v: Values, models: int) -> float:
    """soak_tasks model tasks one after another in one process."""
    per = 1.5 if v["execution_invocation"] == "DBT_RUNNER" else 4.0
    return 10.0 + per * v["soak_tasks"]


def baseline_s(v: Values, models: int) -> float:
    """Plain dbt build."""
    return 4.0 + 0.05 * models


def dag_artefacts(v: Values) -> frozenset[str]:
    """The project's shared artefacts a DAG file of these axes reads (harness.stack.projects
    makes each once per run): manifest for DBT_MANIFEST and task groups, ls for DBT_LS_FILE."""
    out = set()
    if v.get("load_mode") == "DBT_MANIFEST" or v.get("task_groups"):
        out.add("manifest")
    if v.get("load_mode") == "DBT_LS_FILE":
        out.add("ls")
    if v.get("run_nodes"):
        # The selection is read from the manifest; the models run against built upstreams.
        out |= {"manifest", "built"}
    return frozenset(out)


def no_artefacts(v: Values) -> frozenset[str]:
    """A phase that reads none of the project's shared artefacts."""
    return frozenset()


def task_artefacts(v: Values) -> frozenset[str]:
    """A task also needs its upstream models built: the warehouse of a full `dbt build`."""
    return dag_artefacts(v) | {"built"}


def soak_artefacts(v: Values) -> frozenset[str]:
    """The soak probe reads the manifest and runs against the built warehouse."""
    return frozenset({"manifest", "built"})


def artefact_s(name: str, models: int) -> float:
    """Making one shared artefact: `dbt parse` (manifest), `dbt ls` to a file (ls) or
    `dbt build` (built). dbt's full parse of 5000 layered models took 113 s idle."""
    if name == "built":
        return baseline_s({}, models)
    return 4.0 + 0.022 * models
