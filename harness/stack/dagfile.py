"""The one DAG file of a scenario: a plain DbtDag with the scenario's options.

The file is self-contained (literal values, no harness import), so what was
measured can be read and rerun by hand. Airflow's safe-mode discovery skips a
file unless its text holds both "airflow" and "dag" (docs/ARCHITECTURE.md, trap 2): the
docstring says both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.registry.axes import slice_tag

CONN_ID = "harness_duckdb"
# DuckDB lets one process write a database file at a time (docs/ARCHITECTURE.md, trap
# 15). Every profile of the harness lets dbt-duckdb retry the connect with backoff (1,
# 2, 4, ... s) while another process holds the lock. Where LOCAL tasks run concurrently
# their profile also closes the database when dbt releases its last connection (after
# each node and the cache's queries) instead of at the end of the process, so a task
# holds the file for its SQL only, as dbt holds a warehouse connection. Not elsewhere:
# closing checkpoints the database, which triples the time of each node of a build.
DUCKDB_RETRIES: dict[str, Any] = {"retries": {"connect_attempts": 10}}
DUCKDB_SHARED: dict[str, Any] = {**DUCKDB_RETRIES, "keep_open": False}

_IMPORTS_OPTIMISED = """\
from cosmos.airflow.dag import DbtDag
from cosmos.config import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.constants import TestIndirectSelection
from cosmos.profiles.duckdb.user_pass import DuckDBUserPasswordProfileMapping
"""
# What the process that imports the DAG file runs, in its own words: the Cosmos it
# imported and the settings the harness's axes set, read as Cosmos read them
# (figures.cosmos_seen). Both modules are imported by every DbtDag already.
_EVIDENCE = """\
import sys as _sys
import cosmos as _cosmos
from cosmos import settings as _settings
print(f"harness-evidence: cosmos {_cosmos.__version__} at {_cosmos.__file__}; "
      f"watcher_reliable_retry={getattr(_settings, 'enable_watcher_reliable_retry', None)}",
      file=_sys.stderr)
"""
EVIDENCE_LINE = re.compile(
    r"harness-evidence: cosmos (\S+) at (\S+); watcher_reliable_retry=(True|False|None)"
)


def cosmos_seen(text: str) -> dict[str, Any] | None:
    """The last evidence line in ``text`` (a measurement's log): the Cosmos version and
    module a process of it imported, and the reliable-retry setting Cosmos read there."""
    found = EVIDENCE_LINE.findall(text)
    if not found:
        return None
    version, path, retry = found[-1]
    return {"version": version, "path": path,
            "watcher_reliable_retry": {"True": True, "False": False}.get(retry)}  # fmt: skip


# The guide's "instead of" form: the top-level names, as most DAG files import them.
_IMPORTS_TOP_LEVEL = """\
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.constants import TestIndirectSelection
from cosmos.profiles import DuckDBUserPasswordProfileMapping
"""


@dataclass(frozen=True)
class DagSpec:
    """Everything the DAG file needs, resolved to concrete paths."""

    dag_id: str
    project_dir: Path
    project_name: str
    profile_name: str
    load_mode: str
    render_invocation: str
    execution_invocation: str | None
    """None: Cosmos's default for the execution mode (a DAG parse does not depend on it)."""
    execution_mode: str
    partial_parse: bool
    enable_mock_profile: bool
    memory_optimised_imports: bool
    concurrency: int
    manifest_path: Path | None = None
    dbt_ls_path: Path | None = None
    profiles_yml: Path | None = None
    """Use this profiles.yml (the harness's copy of the project's own) instead of the
    DuckDB profile mapping."""
    target_name: str = "dev"
    test_behavior: str | None = None
    """None: Cosmos's default (after_each)."""
    test_indirect_selection: str | None = None
    """None: Cosmos's default (eager)."""
    virtualenv_dir: Path | None = None
    py_requirements: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    """RenderConfig.select: the models a run_nodes run covers (empty: every node)."""
    producer_threads: int | None = None
    """WATCHER's producer's dbt --threads (operator_args dbt_cmd_flags); None: not set."""
    tasks_share_warehouse: bool = False
    """LOCAL tasks of a DAG run write the warehouse at once: the profile is DUCKDB_SHARED."""
    task_groups: int = 0
    """0: one DbtDag. N: N DbtTaskGroups, each selecting its slice by one tag (which the
    generator writes), all sharing one ProjectConfig (and manifest), as users split a
    large project."""


def profile_config_source(spec: DagSpec) -> str:
    """The ProfileConfig(...) expression of the DAG file: the runtime profile its tasks
    use (also what harness.run.probes.ship_msgpack builds a shipped msgpack with)."""
    if spec.profiles_yml is not None:
        return (
            f"ProfileConfig(profile_name={spec.profile_name!r}, "
            f"target_name={spec.target_name!r}, profiles_yml_filepath={str(spec.profiles_yml)!r})"
        )
    return (
        f"ProfileConfig(profile_name={spec.profile_name!r}, target_name='dev', "
        f"profile_mapping=DuckDBUserPasswordProfileMapping(conn_id={CONN_ID!r}, "
        f"profile_args={(DUCKDB_SHARED if spec.tasks_share_warehouse else DUCKDB_RETRIES)!r}))"
    )


def render_profile_module(spec: DagSpec) -> str:
    """A module that defines ``profile_config`` exactly as the DAG file does."""
    source = profile_config_source(spec)
    return f"import airflow  # noqa: F401\n{_IMPORTS_TOP_LEVEL}\nprofile_config = {source}\n"


def render_dag_file(spec: DagSpec) -> str:
    """Python source of the scenario's DAG file."""
    imports = _IMPORTS_OPTIMISED if spec.memory_optimised_imports else _IMPORTS_TOP_LEVEL
    project_args = [f"dbt_project_path={str(spec.project_dir)!r}"]
    project_args.append(f"partial_parse={spec.partial_parse!r}")
    # The harness installs a project's packages once (harness.stack.own_project); Cosmos
    # reads this for both the parse's dbt ls (RenderConfig.dbt_deps) and the tasks'
    # install_deps, which it requires to agree.
    project_args.append("install_dbt_deps=False")
    if spec.manifest_path is not None:
        project_args.append(f"manifest_path={str(spec.manifest_path)!r}")
    render_args = [
        f"load_method=LoadMode.{spec.load_mode}",
        f"enable_mock_profile={spec.enable_mock_profile!r}",
    ]
    if spec.load_mode in ("DBT_LS", "AUTOMATIC"):
        render_args.append(f"invocation_mode=InvocationMode.{spec.render_invocation}")
    if spec.test_behavior is not None:
        render_args.append(f"test_behavior=TestBehavior.{spec.test_behavior.upper()}")
    if spec.dbt_ls_path is not None:
        render_args.append(f"dbt_ls_path={str(spec.dbt_ls_path)!r}")
    if spec.select:
        render_args.append(f"select={list(spec.select)!r}")
    exec_args = [f"execution_mode=ExecutionMode.{spec.execution_mode}"]
    if spec.execution_invocation is not None:
        exec_args.append(f"invocation_mode=InvocationMode.{spec.execution_invocation}")
    if spec.test_indirect_selection is not None:
        selection = spec.test_indirect_selection.upper()
        exec_args.append(f"test_indirect_selection=TestIndirectSelection.{selection}")
    if spec.execution_mode == "VIRTUALENV":
        exec_args.append(f"virtualenv_dir={str(spec.virtualenv_dir)!r}")
    operator_args = _operator_args(spec)
    imports += _EVIDENCE
    profile = profile_config_source(spec)
    if spec.task_groups:
        return _task_groups_file(spec, imports, project_args, profile, render_args, exec_args,
                                 operator_args)  # fmt: skip
    return f'''"""Cosmos memory harness scenario: an airflow dag of dbt project {spec.project_name}.

Written by the harness; every option is literal so the file can be rerun by hand.
"""

from datetime import datetime

{imports}
dag = DbtDag(
    dag_id={spec.dag_id!r},
    project_config=ProjectConfig({", ".join(project_args)}),
    profile_config={profile},
    render_config=RenderConfig({", ".join(render_args)}),
    execution_config=ExecutionConfig({", ".join(exec_args)}),
    operator_args={operator_args!r},
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_tasks={spec.concurrency},
    max_active_runs=1,
)
'''


def _operator_args(spec: DagSpec) -> dict[str, object]:
    """The DAG's operator_args: VIRTUALENV's requirements, WATCHER's producer's threads."""
    out: dict[str, object] = {}
    if spec.execution_mode == "VIRTUALENV":
        out = {"py_requirements": list(spec.py_requirements), "py_system_site_packages": False}
    if spec.producer_threads:
        # Cosmos hands operator_args to the producer too (its dbt build); the sensors
        # run no dbt unless retried.
        out["dbt_cmd_flags"] = ["--threads", str(spec.producer_threads)]
    return out


def _task_groups_file(
    spec: DagSpec,
    imports: str,
    project_args: list[str],
    profile: str,
    render_args: list[str],
    exec_args: list[str],
    operator_args: dict[str, object],
) -> str:
    imports = imports.replace("from cosmos.airflow.dag import DbtDag", (
        "from cosmos.airflow.task_group import DbtTaskGroup")).replace(
        "from cosmos import DbtDag,", "from cosmos import DbtTaskGroup,")  # fmt: skip
    n = spec.task_groups
    slices = ",\n".join(f"    {'tag:' + slice_tag(k, n)!r}" for k in range(n))
    return f'''"""Cosmos memory harness scenario: an airflow dag of {n} task groups of dbt project
 {spec.project_name}, sharing one project and manifest, each selecting a slice.

Written by the harness; every option is literal so the file can be rerun by hand.
"""

from datetime import datetime

from airflow.sdk import DAG

{imports}
SLICES = [
{slices},
]
project_config = ProjectConfig({", ".join(project_args)})
profile_config = {profile}

with DAG(
    dag_id={spec.dag_id!r},
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_tasks={spec.concurrency},
    max_active_runs=1,
) as dag:
    for i, select in enumerate(SLICES):
        DbtTaskGroup(
            group_id=f"slice_{{i + 1:02d}}",
            project_config=project_config,
            profile_config=profile_config,
            render_config=RenderConfig({", ".join(render_args)}, select=[select]),
            execution_config=ExecutionConfig({", ".join(exec_args)}),
            operator_args={operator_args!r},
        )
'''
