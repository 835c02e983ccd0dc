"""What every phase recipe is handed (Context) and hands back (Outcome)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.measure import measure
from harness.measure.result import MeasureResult
from harness.registry.values import AxisValues
from harness.scenarios.model import Scenario
from harness.stack.dbtlog import LogCursor
from harness.stack.projects import PreparedProject
from harness.stack.workspace import Workspace, airflow_env
from harness.stack_env import axis_env


@dataclass
class Outcome:
    """What one repetition of a phase produced, before it becomes a record."""

    status: str
    measure: MeasureResult | None
    reason: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What every phase needs: where to work, the limit, the timeout, the log file."""

    ws: Workspace
    project: PreparedProject | None
    scenario: Scenario
    log: Path
    timeout_s: float
    venv_dir: Path
    phase: str = "dag_run"
    """The phase measured: it decides which options the DAG file sets."""
    python: str = sys.executable
    """Interpreter of the import and dag_parse phases: this environment's, or one
    with another Cosmos release (axis cosmos_version, harness.stack.altenv)."""

    @property
    def axes(self) -> dict[str, Any]:
        return self.scenario.axes

    @property
    def ax(self) -> AxisValues:
        """The scenario's axis values, typed (harness.registry.values)."""
        return self.scenario.ax

    limit_mib: int | None = None
    """A limit that overrides the axis worker_limit_mib (the min_worker bisection)."""
    role: str | None = None
    """The sampled task measured, for a phase with roles (harness.registry.phases)."""
    task_sample: int = 3
    """How many tasks the task phase samples (the scenario file's task_sample)."""
    bisect_steps: int = 8
    """min_worker: at most this many halvings (the scenario file's bisect_steps)."""
    note: Callable[[str], None] | None = None
    """Where a long measurement says how far it is (each bisection probe as it ends)."""
    steps: dict[str, float] = field(default_factory=dict)
    """Seconds of each set-up step of this measurement (figures.setup_steps_s): the
    same dict in every copy dataclasses.replace makes, so a recipe's steps add up."""

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one set-up step of the measurement (added to ``steps[name]``)."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = round(self.steps.get(name, 0.0) + time.monotonic() - t0, 3)
    probe_log: Path | None = None
    """min_worker, pod_size: each probe's outcome is appended here as it ends, and a
    probe found here is not run again (a resumed run continues its bisection)."""
    shared: Path | None = None
    """Where the run keeps set-up products for the measurements that need the same
    (harness.run.recipes.shared); None: each is made in the measurement's workspace."""
    reused: list[str] = field(default_factory=list)
    """The set-up products this measurement took from an earlier one (figures.setup_reused):
    the same list in every copy dataclasses.replace makes, as ``steps``."""
    project_dir: Path | None = None
    """The measurement's own copy of the project (partial_parse_state shipped or
    changed), instead of the prepared project's path."""

    @property
    def limit_bytes(self) -> int | None:
        mib = self.limit_mib if self.limit_mib is not None else int(self.ax.worker_limit_mib or 0)
        return mib * 1024 * 1024 if mib else None

    def env(self, api_port: int | None = None) -> dict[str, str]:
        """The environment of every process of this measurement: the stack's, with the
        variables the scenario's axes declare (harness.stack_env.axis_env)."""
        env = airflow_env(
            self.ws.airflow_home,
            tmp=self.ws.tmp,
            cache_dir=self.ws.cache_dir,
            warehouse=self.ws.warehouse,
            api_port=api_port,
            axes=axis_env(self.axes, self.phase),
        )
        # VIRTUALENV mode installs dbt with uv or pip: their caches stay in the run too.
        cache = str(self.venv_dir.parent / "pkg-cache")
        env.update({"UV_CACHE_DIR": cache, "PIP_CACHE_DIR": cache})
        if self.python != sys.executable:
            # The probes are stdlib-only modules of this repo: another env imports them from here.
            env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
            # Its airflow, dbt and celery first (workspace.airflow_bin(env); Cosmos looks
            # for dbt on PATH, trap 20): every process of the measurement runs that stack.
            env["PATH"] = os.pathsep.join([str(self.stack_bin), env.get("PATH", "")])
        return env

    @property
    def stack_bin(self) -> Path:
        """The bin folder of the measured stack (this environment's, or altenv's)."""
        return Path(self.python).parent

    def run(self, cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> MeasureResult:
        """Measure ``cmd`` with this measurement's limit, timeout and log."""
        return measure(
            cmd,
            env=env,
            cwd=cwd or self.ws.root,
            limit_bytes=self.limit_bytes,
            timeout_s=self.timeout_s,
            stdout=self.log,
            stderr=self.log,
        )


def run_dbt(
    ctx: Context, cmd: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[MeasureResult, dict[str, Any] | None]:
    """ctx.run, and what dbt logged meanwhile (figures.dbt; None: it ran no dbt).
    Every dbt of a measurement logs under its TMPDIR (DBT_LOG_PATH, workspace.airflow_env)."""
    cursor = LogCursor(ctx.ws.tmp)
    result = ctx.run(cmd, env, cwd)
    return result, cursor.evidence()


def status_of(result: MeasureResult, log: Path) -> tuple[str, str | None]:
    if result.status == "ok":
        return "ok", None
    return result.status, f"{result.status} (exit {result.exit_code}): {log_tail(log)}"


def log_tail(log: Path, lines: int = 3) -> str:
    """The last meaningful lines of a log, for a record's reason."""
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    keep = [ln.strip() for ln in text if ln.strip()][-lines:]
    return " | ".join(keep)[-600:]
