"""The task phase: one sampled model task as `airflow tasks test` runs it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from harness.run.context import Context, Outcome, run_dbt, status_of
from harness.run.recipes.dag import text_at_project, write_dag_file
from harness.run.recipes.shared import dag_report
from harness.run.recipes.state import prepare_cache, project_copy
from harness.stack.airflow_db import DAG_ID, read_debug_xcom
from harness.stack.dagfile import cosmos_seen
from harness.stack.workspace import airflow_bin, log_since, log_size


def model_graph(tasks: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Model task -> the model tasks it depends on, by the dbt DAG.

    The parse probe reports each task's dbt node; its ``depends_on`` gives the model
    graph whatever sits between two model tasks in Airflow (a test task under
    after_each, a seed). Without node data (an older probe), upstream task ids are
    followed through the tasks that run no model."""
    models = {
        t: info for t, info in tasks.items()
        if info.get("resource_type") == "model" and "Test" not in info["operator"]
    }  # fmt: skip
    if models:
        by_node = {info["unique_id"]: t for t, info in models.items()}
        return {
            t: {by_node[d] for d in info.get("depends_on", []) if d in by_node} - {t}
            for t, info in models.items()
        }
    runs = {t for t in tasks if t.endswith(("_run", ".run"))}

    def parents(t: str, seen: set[str]) -> set[str]:
        out: set[str] = set()
        for u in tasks.get(t, {}).get("upstream", []):
            if u in runs:
                out.add(u)
            elif u not in seen:
                seen.add(u)
                out |= parents(u, seen)
        return out

    return {t: parents(t, set()) for t in runs}


def sample_tasks(
    tasks: dict[str, dict[str, Any]], execution_mode: str | None, n: int
) -> dict[str, str]:
    """Role -> task id: a root model, a middle one and a leaf of the model graph (at most n).

    Under WATCHER the producer runs dbt for the whole DAG and the model tasks are
    sensors that wait for it, so the producer is the task measured.
    """
    if execution_mode == "WATCHER":
        producers = sorted(t for t, info in tasks.items() if "Producer" in info["operator"])
        return {"producer": producers[0]} if producers else {}
    graph = model_graph(tasks)
    if not graph:
        return {}
    depth: dict[str, int] = {}

    def d(t: str) -> int:
        if t not in depth:
            depth[t] = 0  # a cycle cannot occur in dbt; this only guards the recursion
            depth[t] = 1 + max((d(u) for u in graph[t]), default=0)
        return depth[t]

    order = sorted(graph, key=lambda t: (d(t), t))
    has_children = {u for ups in graph.values() for u in ups}
    leaves = [t for t in order if t not in has_children]
    inner = [t for t in order if graph[t] and t in has_children] or order
    picks = {
        "root": order[0],
        "middle": inner[len(inner) // 2],
        "leaf": leaves[-1] if leaves else order[-1],
    }
    out: dict[str, str] = {}
    for role, task in picks.items():
        if task not in out.values() and len(out) < n:
            out[role] = task
    return out


def run_task(ctx: Context) -> Outcome:
    """One task run as `airflow tasks test` runs it: the CLI parses the DAG and runs
    the task in its own process (docs/ARCHITECTURE.md trap 4: the figure includes the CLI)."""
    with ctx.step("project_copy"):
        ctx = project_copy(ctx)
    assert ctx.project is not None
    dag_file = write_dag_file(ctx)
    with ctx.step("dag_import"):  # which tasks the DAG has, to sample one
        probe, report = dag_report(ctx, dag_file, text_at_project(ctx))
    if probe.status != "ok":
        return probe
    tasks = report["dags"][DAG_ID]["tasks"]
    sample = sample_tasks(tasks, ctx.ax.execution_mode, ctx.task_sample)
    role = ctx.role
    if role not in sample:
        return Outcome("error", None, f"no task for role {role!r} in this DAG")
    with ctx.step("cache"):
        failed = prepare_cache(ctx, dag_file)
    if failed is not None:
        return failed
    with ctx.step("warehouse"):
        shutil.copy2(ctx.project.built_warehouse(), ctx.ws.warehouse)
    task_id = sample[role]
    env = ctx.env()
    start = log_size(ctx.log)
    result, dbt = run_dbt(ctx, [airflow_bin(env), "tasks", "test", DAG_ID, task_id], env)
    status, reason = status_of(result, ctx.log)
    figures: dict[str, Any] = {"task_id": task_id, "role": role, "sample": sample, "dbt": dbt}
    figures["cosmos_seen"] = cosmos_seen(log_since(ctx.log, start).decode(errors="replace"))
    figures.update(read_debug_xcom(ctx.ws.db))
    if ctx.ax.debug_mode and "cosmos_debug_max_memory_mb" not in figures:
        # `airflow tasks test` keeps no XCom of its temporary run; Cosmos logs the
        # same figure it pushes.
        logged = read_debug_log(ctx.log)
        if logged is not None:
            figures["cosmos_debug_max_memory_mb"] = {task_id: logged}
            figures["cosmos_debug_source"] = "task log"
    return Outcome(status, result, reason, figures)


_DEBUG_LINE = re.compile(r"Max memory usage \(RSS, incl\. children\): ([0-9.]+) MB")


def read_debug_log(log: Path) -> float | None:
    """The last figure Cosmos's debug mode logged (MiB: it divides bytes by 1024**2)."""
    try:
        found = _DEBUG_LINE.findall(log.read_text(errors="replace"))
    except OSError:
        return None
    return float(found[-1]) if found else None
