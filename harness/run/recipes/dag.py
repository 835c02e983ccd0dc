"""The scenario's DAG file, written into the measurement's workspace."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness.registry.pricing import task_slots
from harness.run.context import Context
from harness.stack.airflow_db import DAG_ID
from harness.stack.dagfile import DagSpec, render_dag_file
from harness.stack.selection import run_selection


def dag_spec(ctx: Context) -> DagSpec:
    """The scenario's DagSpec, with the artefacts its load mode needs made on demand."""
    a, p = ctx.axes, ctx.project
    assert p is not None
    load_mode = a["load_mode"]
    eff = ctx.scenario.effective(ctx.phase)
    shared = tasks_share_warehouse(eff)
    return DagSpec(
        dag_id=DAG_ID,
        project_dir=ctx.project_dir or p.path,
        project_name=p.name,
        profile_name=p.profile_name,
        load_mode=load_mode,
        render_invocation=a["render_invocation"],
        execution_invocation=eff.get("execution_invocation"),
        execution_mode=a["execution_mode"],
        partial_parse=a["partial_parse"],
        enable_mock_profile=a["enable_mock_profile"],
        memory_optimised_imports=a["memory_optimised_imports"],
        concurrency=a["concurrency"],
        manifest_path=p.manifest() if load_mode == "DBT_MANIFEST" else None,
        dbt_ls_path=p.dbt_ls_file() if load_mode == "DBT_LS_FILE" else None,
        profiles_yml=p.profiles_yml(shared),
        target_name=p.target_name,
        test_behavior=eff.get("test_behavior"),
        test_indirect_selection=eff.get("test_indirect_selection"),
        virtualenv_dir=ctx.venv_dir,
        py_requirements=venv_requirements(),
        select=tuple(selected_models(ctx)),
        task_groups=a["task_groups"],
        producer_threads=eff.get("producer_threads"),
        tasks_share_warehouse=shared,
    )


def tasks_share_warehouse(eff: dict[str, Any]) -> bool:
    """Whether the DAG run's tasks (of the phase's effective axis values) each run dbt
    and may write the warehouse at once: a DAG run (the phase has a concurrency) with
    more than one task slot, not WATCHER, whose one producer writes while its sensors
    only wait (trap 15)."""
    if eff.get("concurrency") is None or eff.get("execution_mode") == "WATCHER":
        return False
    return min(eff["concurrency"], task_slots(eff)) > 1


def selected_models(ctx: Context) -> list[str]:
    """The models a run_nodes run covers (harness.stack.selection); empty: the whole DAG."""
    n = ctx.ax.run_nodes or 0
    return run_selection(ctx.project.manifest(), n) if n and ctx.project else []


def venv_requirements() -> tuple[str, ...]:
    """VIRTUALENV mode installs the same dbt the harness measures elsewhere."""
    import importlib.metadata as md

    return tuple(f"{n}=={md.version(n)}" for n in ("dbt-core", "dbt-duckdb"))


def write_dag_file(ctx: Context, spec: DagSpec | None = None) -> Path:
    """Write the scenario's DAG file (of ``spec``, else the scenario's DagSpec) into the
    workspace's dags folder."""
    path = ctx.ws.dags / f"{DAG_ID}.py"
    path.write_text(render_dag_file(spec or dag_spec(ctx)))
    return path


def text_at_project(ctx: Context, spec: DagSpec | None = None) -> str:
    """The DAG file of ``spec`` (else the scenario's) as it reads when it names the
    prepared project instead of the measurement's copy (partial_parse_state shipped,
    changed): the key of a set-up product that a pristine copy makes the same
    (harness.run.recipes.shared)."""
    assert ctx.project is not None
    spec = spec or dag_spec(ctx)
    return render_dag_file(dataclasses.replace(spec, project_dir=ctx.project.path))
