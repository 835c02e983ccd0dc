"""What a scenario is: a project plus one value for each of Cosmos's options.

The axes and the values each accepts are defined here once; the TOML loader
validates against them and the runner reads them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PHASES = ("import", "dag_parse", "task", "dag_run", "dbt_baseline", "soak", "min_worker")
LOAD_MODES = ("DBT_LS", "DBT_MANIFEST", "DBT_LS_FILE", "AUTOMATIC", "CUSTOM")
INVOCATIONS = ("DBT_RUNNER", "SUBPROCESS")
EXECUTION_MODES = ("LOCAL", "WATCHER", "VIRTUALENV")
CACHE_STATES = ("cold", "warm")


@dataclass(frozen=True)
class Axis:
    """One option the matrix can vary: its accepted values and Cosmos's default."""

    name: str
    kind: type
    default: Any
    choices: tuple[Any, ...] | None = None
    minimum: int | None = None
    doc: str = ""


AXES: dict[str, Axis] = {
    a.name: a
    for a in (
        Axis("load_mode", str, "DBT_LS", LOAD_MODES, doc="RenderConfig.load_method"),
        Axis("cache", str, "cold", CACHE_STATES, doc="dbt ls cache: cold (miss) or warm (hit)"),
        Axis(
            "render_invocation", str, "DBT_RUNNER", INVOCATIONS, doc="RenderConfig.invocation_mode"
        ),
        Axis(
            "execution_invocation",
            str,
            "DBT_RUNNER",
            INVOCATIONS,
            doc="ExecutionConfig.invocation_mode",
        ),
        Axis(
            "partial_parse",
            bool,
            True,
            doc="ProjectConfig.partial_parse and [cosmos] enable_cache_partial_parse",
        ),
        Axis("enable_mock_profile", bool, True, doc="RenderConfig.enable_mock_profile"),
        Axis("execution_mode", str, "LOCAL", EXECUTION_MODES, doc="ExecutionConfig.execution_mode"),
        Axis(
            "memory_optimised_imports",
            bool,
            False,
            doc="[cosmos] enable_memory_optimised_imports",
        ),
        Axis("debug_mode", bool, False, doc="[cosmos] enable_debug_mode"),
        Axis(
            "concurrency",
            int,
            1,
            minimum=1,
            doc="DAG max_active_tasks, [core] parallelism, dbt --threads",
        ),
        Axis("worker_limit_mib", int, 0, minimum=0, doc="cgroup memory limit; 0 = none"),
        Axis(
            "debug_poll_s",
            float,
            0.5,
            doc="[cosmos] debug_memory_poll_interval_seconds (with debug_mode on)",
        ),
        Axis(
            "cosmos_version",
            str,
            "locked",
            doc="'locked' (uv.lock) or a release such as '1.13.1' installed beside it",
        ),
        Axis("soak_tasks", int, 200, minimum=1, doc="soak: model tasks run in one process"),
        Axis(
            "import_target",
            str,
            "DbtDag",
            ("DbtDag", "package"),
            doc="import phase: DbtDag as a DAG file imports it, or the cosmos package "
            "alone as Airflow's provider and plugin loading does",
        ),
    )
}

# The axes that can change each phase's figures. A measurement is made once per
# distinct value of these; the others are left out of its id and record.
_DAG_SHAPING = (
    "load_mode",
    "cache",
    "render_invocation",
    "partial_parse",
    "enable_mock_profile",
    "execution_mode",
    "memory_optimised_imports",
    "worker_limit_mib",
)
_RUN = (*_DAG_SHAPING, "execution_invocation", "debug_mode", "debug_poll_s")
PHASE_AXES: dict[str, tuple[str, ...]] = {
    "import": ("memory_optimised_imports", "worker_limit_mib", "cosmos_version", "import_target"),
    "dag_parse": (*_DAG_SHAPING, "cosmos_version"),
    "task": _RUN,
    "dag_run": (*_RUN, "concurrency"),
    "dbt_baseline": ("concurrency", "worker_limit_mib"),
    # One long-lived process runs soak_tasks model tasks one after another.
    "soak": ("execution_invocation", "partial_parse", "soak_tasks"),
    # Bisection of the worker limit under which a whole DAG run still succeeds.
    "min_worker": tuple(a for a in (*_RUN, "concurrency") if a != "worker_limit_mib"),
}
PHASES_WITH_PROJECT = ("dag_parse", "task", "dag_run", "dbt_baseline", "soak", "min_worker")
assert set(PHASE_AXES) == set(PHASES)


@dataclass(frozen=True)
class ProjectSpec:
    """A synthetic project (models, shape, seed) or a user's own (path)."""

    models: int | None = None
    shape: str | None = None
    seed: int = 0
    path: str | None = None
    profile: str = "harness"
    """harness: a DuckDB profile the harness makes; project: the project's own profiles.yml."""

    @property
    def label(self) -> str:
        """Short stable name used in scenario ids."""
        if self.path is not None:
            return f"project={self.path}:{self.profile}"
        return f"{self.shape}-{self.models}-s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the record's axes."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Scenario:
    """A project and one value per axis: one point of the matrix."""

    project: ProjectSpec
    values: tuple[tuple[str, Any], ...]
    """(axis, value) for every axis in AXES, in AXES order."""

    @property
    def axes(self) -> dict[str, Any]:
        """Axis name -> value."""
        return dict(self.values)

    def effective(self, phase: str) -> dict[str, Any]:
        """The axis values that matter to ``phase``, with inapplicable ones collapsed.

        Options that Cosmos ignores in a combination are set to None so that
        equal measurements get equal ids: the cache state and render invocation
        only matter when Cosmos runs dbt ls.
        """
        axes = self.axes
        out = {name: axes[name] for name in PHASE_AXES[phase]}
        if "load_mode" in out and out["load_mode"] not in ("DBT_LS", "AUTOMATIC"):
            out["cache"] = None
            out["render_invocation"] = None
            if phase == "dag_parse":
                # Parsing without dbt ls runs no dbt: no partial parse, no profile.
                out["partial_parse"] = None
                out["enable_mock_profile"] = None
        if "debug_poll_s" in out and not out.get("debug_mode"):
            out["debug_poll_s"] = None
        # Defaults added after the first runs are left out of ids, so those stay comparable.
        if out.get("cosmos_version") == "locked":
            out["cosmos_version"] = None
        if out.get("import_target") == "DbtDag":
            out["import_target"] = None
        return out

    def scenario_id(self, phase: str) -> str:
        """Stable, readable id: phase, project, then the axes that matter."""
        parts = [phase]
        if phase in PHASES_WITH_PROJECT:
            parts.append(self.project.label)
        for name, value in self.effective(phase).items():
            if value is None:
                continue
            parts.append(f"{name}={_fmt(value)}")
        return "/".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
