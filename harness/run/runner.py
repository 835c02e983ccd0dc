"""Run a scenario file: every measurement, each repetition in a fresh process tree,
each result appended to results.jsonl the moment it is known."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.measure import choose_backend
from harness.run.cleanup import MARK_VAR
from harness.run.estimate import estimate_s
from harness.run.min_worker import run_min_worker
from harness.run.phases import PHASE_RUNNERS, Context, Outcome, run_task, task_roles
from harness.run.projects import PreparedProject, ProjectError, prepare_project
from harness.run.workspace import RunDir, airflow_env, make_template_home, new_workspace
from harness.scenarios.load import ScenarioFile
from harness.scenarios.matrix import Measurement
from harness.scenarios.model import PHASES_WITH_PROJECT, ProjectSpec
from harness.store.jsonl import RESULTS_FILE, ResultsWriter, read_records
from harness.store.record import Record
from harness.store.runinfo import (
    commit_info,
    machine_info,
    now_iso,
    package_versions,
    read_run_info,
    write_run_info,
)


@dataclass(frozen=True)
class Unit:
    """One measured thing: a measurement, and for the task phase the sampled role."""

    measurement: Measurement
    role: str | None = None

    @property
    def scenario_id(self) -> str:
        sid = self.measurement.scenario_id
        return f"{sid}/task={self.role}" if self.role else sid

    @property
    def phase(self) -> str:
        return self.measurement.phase


def units_of(measurements: list[Measurement], task_sample: int) -> list[Unit]:
    """Measurements with the task phase split into its sampled roles."""
    out: list[Unit] = []
    for m in measurements:
        if m.phase == "task":
            out.extend(
                Unit(m, r) for r in task_roles(m.scenario.axes["execution_mode"], task_sample)
            )
        else:
            out.append(Unit(m))
    return out


def validity(units: list[Unit], run_dir: RunDir) -> dict[str, str]:
    """Cosmos's own verdict on each DAG-building combination: scenario id -> message.

    One fresh process asks Cosmos's config classes about every distinct combination."""
    keys = (
        "execution_mode",
        "execution_invocation",
        "load_mode",
        "render_invocation",
        "enable_mock_profile",
    )
    cosmos_units = [
        u for u in units if u.phase in ("dag_parse", "task", "dag_run", "min_worker")
    ]

    def combo(u: Unit) -> tuple[Any, ...]:
        # The options the phase's DAG file sets (None: left at Cosmos's default).
        eff = u.measurement.scenario.effective(u.phase)
        return tuple(eff.get(k) for k in keys)

    combos = sorted({combo(u) for u in cosmos_units}, key=str)
    if not combos:
        return {}
    inp, out = run_dir.work / "validate-in.json", run_dir.work / "validate-out.json"
    inp.parent.mkdir(parents=True, exist_ok=True)
    inp.write_text(json.dumps([dict(zip(keys, c, strict=True)) for c in combos]))
    subprocess.run(
        [sys.executable, "-m", "harness.run.probes.validate", str(inp), str(out)],
        env=_validate_env(run_dir),
        check=True,
        capture_output=True,
        timeout=300,
    )
    verdicts = dict(zip(combos, json.loads(out.read_text()), strict=True))
    invalid = {}
    for u in cosmos_units:
        message = verdicts[combo(u)]
        if message:
            invalid[u.scenario_id] = message
    return invalid


def _validate_env(run_dir: RunDir) -> dict[str, str]:
    tmp = run_dir.work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return airflow_env(run_dir.template_home, tmp=tmp)


def run_info(spec: ScenarioFile, run_id: str, shard: tuple[int, int] | None) -> dict[str, Any]:
    """How and where this run measures: versions, machine, commit, backend, the file."""
    return {
        "run_id": run_id,
        "started_at": now_iso(),
        "finished_at": None,
        "state": "running",
        "scenario_file": str(spec.path),
        "scenario_text": spec.text,
        "shard": list(shard) if shard else None,
        "backend": choose_backend("auto"),
        "versions": package_versions(),
        "machine": machine_info(),
        "commit": commit_info(),
        "python_executable": sys.executable,
    }


# Environments with other Cosmos releases (axis cosmos_version): kept between runs,
# since building one takes a minute; git-ignored.
ALTENV_ROOT = Path(".harness-envs")

ProgressHook = Callable[[Unit, int, float], None]


def execute(
    spec: ScenarioFile,
    units: list[Unit],
    run_dir: RunDir,
    run_id: str,
    shard: tuple[int, int] | None = None,
    on_start: ProgressHook | None = None,
    on_done: Callable[[Record, float], None] | None = None,
) -> dict[str, int]:
    """Measure every unit not yet recorded in the run folder; returns status counts."""
    run_dir.root.mkdir(parents=True, exist_ok=True)
    results = run_dir.root / RESULTS_FILE
    done = {r.key for r in read_records(results)} if results.exists() else set()
    info = read_run_info(run_dir.root) or run_info(spec, run_id, shard)
    info["state"] = "running"
    info["owner"] = os.environ.get(MARK_VAR)  # who runs it: harness.run.cleanup
    info.setdefault("resumed_at", [])
    if done:
        info["resumed_at"].append(now_iso())
    write_run_info(run_dir.root, info)
    (run_dir.root / "scenario.toml").write_text(spec.text)
    counts: dict[str, int] = {}
    try:
        make_template_home(run_dir)
        invalid = validity(units, run_dir)
        projects: dict[ProjectSpec, PreparedProject | Exception] = {}
        with ResultsWriter(results) as writer:
            for seq, unit in enumerate(units):
                m = unit.measurement
                for rep in range(m.repetitions):
                    if (unit.scenario_id, rep) in done:
                        continue
                    weight = estimate_s(m)
                    if on_start:
                        on_start(unit, rep, weight)
                    started = now_iso()
                    if unit.scenario_id in invalid:
                        outcome = Outcome("invalid", None, invalid[unit.scenario_id])
                    else:
                        outcome = _measure_unit(spec, unit, seq, rep, run_dir, projects)
                    record = Record(
                        run_id=run_id,
                        scenario_id=unit.scenario_id,
                        phase=m.phase,
                        axes=_axes(unit),
                        repetition=rep,
                        status=outcome.status,  # type: ignore[arg-type]
                        reason=outcome.reason,
                        measure=outcome.measure,
                        figures=outcome.figures,
                        started_at=started,
                    )
                    writer.append(record)
                    counts[record.status] = counts.get(record.status, 0) + 1
                    if on_done:
                        on_done(record, weight)
        info["state"] = "finished"
    except KeyboardInterrupt:
        info["state"] = "interrupted"
        raise
    finally:
        info["finished_at"] = now_iso()
        write_run_info(run_dir.root, info)
        shutil.rmtree(run_dir.work, ignore_errors=True)
    return counts


def _axes(unit: Unit) -> dict[str, Any]:
    s = unit.measurement.scenario
    axes: dict[str, Any] = dict(s.effective(unit.phase))
    if unit.phase in PHASES_WITH_PROJECT:
        axes["project"] = s.project.to_dict()
        axes["models"] = s.project.models
    if unit.role:
        axes["task_role"] = unit.role
    return axes


def _measure_unit(
    spec: ScenarioFile,
    unit: Unit,
    seq: int,
    rep: int,
    run_dir: RunDir,
    projects: dict[ProjectSpec, PreparedProject | Exception],
) -> Outcome:
    m = unit.measurement
    log = run_dir.logs / f"{seq:04d}-{m.phase}-r{rep}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    project: PreparedProject | None = None
    if m.phase != "import":
        pspec = m.scenario.project
        if pspec not in projects:
            try:
                projects[pspec] = prepare_project(pspec, run_dir.work, run_dir.logs)
            except (ProjectError, OSError, subprocess.SubprocessError) as exc:
                projects[pspec] = exc
        prepared = projects[pspec]
        if isinstance(prepared, Exception):
            return Outcome("error", None, f"project: {prepared}")
        project = prepared
    ws = new_workspace(run_dir, f"m{seq:04d}-r{rep}")
    ctx = Context(
        ws, project, m.scenario, log, spec.timeout_s, run_dir.work / "venvs", phase=m.phase
    )
    t0 = time.monotonic()
    cosmos_env: dict[str, object] = {}
    try:
        version = m.scenario.axes["cosmos_version"]
        if version != "locked":
            from harness.run.altenv import cosmos_python, read_marker

            python = cosmos_python(version, ALTENV_ROOT.resolve(), run_dir.logs)
            ctx = dataclasses.replace(ctx, python=python)
            cosmos_env = read_marker(Path(python).parent.parent)
        if unit.role is not None:
            outcome = run_task(ctx, unit.role, spec.task_sample)
        elif m.phase == "min_worker":
            outcome = run_min_worker(ctx, spec.bisect_steps)
        elif m.phase == "soak":
            from harness.run.soak import run_soak

            outcome = run_soak(ctx)
        else:
            outcome = PHASE_RUNNERS[m.phase](ctx)
    except ProjectError as exc:
        outcome = Outcome("error", None, str(exc))
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as exc:
        outcome = Outcome("error", None, f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(ws.root, ignore_errors=True)
    if cosmos_env:
        # Which environment measured it, and how it was made importable (altenv).
        outcome.figures["cosmos_env"] = {
            k: cosmos_env.get(k) for k in ("version", "mode", "adaptations")
        }
    outcome.figures["log"] = str(log.relative_to(run_dir.root))
    outcome.figures["harness_s"] = round(time.monotonic() - t0, 3)
    return outcome


def iter_shard(units: list[Unit], shard: tuple[int, int] | None) -> Iterator[Unit]:
    """Every N-th unit from the K-th (1-based), so N machines share a matrix."""
    if shard is None:
        yield from units
        return
    k, n = shard
    yield from units[k - 1 :: n]
