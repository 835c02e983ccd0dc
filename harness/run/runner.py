"""Run a scenario file: every measurement, each repetition in a fresh process tree,
each result appended to results.jsonl the moment it is known."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.measure.interrupt import raise_pending
from harness.registry import AXES, PHASES
from harness.run.context import Context, Outcome
from harness.run.estimate import estimate_s
from harness.run.runjson import begin, run_info
from harness.run.stacks import default_build, prepare_stacks
from harness.scenarios.matrix import Measurement
from harness.scenarios.model import ProjectSpec
from harness.scenarios.scenario_file import ScenarioFile
from harness.stack.projects import PreparedProject, ProjectError, prepare_project
from harness.stack.workspace import RunDir, airflow_env, make_template_home, new_workspace
from harness.store.jsonl import FAILED, RESULTS_FILE, ResultsWriter, latest, read_records
from harness.store.record import Record
from harness.store.runinfo import RunInfo, now_iso, read_run_info, write_run_info


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
        roles = PHASES[m.phase].roles
        if roles is not None:
            out.extend(Unit(m, r) for r in roles(m.scenario.axes, task_sample))
        else:
            out.append(Unit(m))
    return out


def validity(units: list[Unit], run_dir: RunDir) -> dict[str, str]:
    """Cosmos's own verdict on each DAG-building combination: scenario id -> message.

    One fresh process asks Cosmos's config classes about every distinct combination."""
    keys = tuple(a.name for a in AXES.values() if a.judged_by_cosmos)
    cosmos_units = [u for u in units if PHASES[u.phase].cosmos_judged]

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


# Environments with other Cosmos releases (axis cosmos_version): kept between runs,
# since building one takes a minute; git-ignored.
ALTENV_ROOT = Path(".harness-envs")

ProgressHook = Callable[[Unit, int, float], None]
WORKSPACE = "measurement"
"""The folder under the run's work folder that each measurement in turn has as its own."""


def execute(
    spec: ScenarioFile,
    units: list[Unit],
    run_dir: RunDir,
    run_id: str,
    shard: tuple[int, int] | None = None,
    on_start: ProgressHook | None = None,
    on_done: Callable[[Record, float], None] | None = None,
    *,
    rerun_failed: bool = False,
    on_note: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Measure every unit not yet recorded in the run folder; returns status counts.
    ``on_note`` gets a line of progress inside a long measurement (each bisection probe).
    ``rerun_failed``: a repetition whose latest record failed counts as not recorded, and
    its new record is appended (readers take the latest, harness.store.jsonl.latest)."""
    run_dir.root.mkdir(parents=True, exist_ok=True)
    results = run_dir.root / RESULTS_FILE
    recorded = latest(read_records(results)) if results.exists() else []
    done = {r.key for r in recorded if not (rerun_failed and r.status in FAILED)}
    info = read_run_info(run_dir.root) or run_info(spec, run_id, shard)
    begin(info, [u.measurement for u in units], resumed=bool(recorded))
    write_run_info(run_dir.root, info)
    (run_dir.root / "scenario.toml").write_text(spec.text)
    counts: dict[str, int] = {}
    try:
        make_template_home(run_dir)
        # A release that cannot run is known, with its reason, before any measurement.
        _, refused = prepare_stacks(units, default_build(ALTENV_ROOT, run_dir.logs))
        invalid = {**refused, **validity(units, run_dir)}
        projects = own_projects(units, run_dir, info)
        with ResultsWriter(results) as writer:
            for seq, unit, rep in schedule(units):
                raise_pending()  # a stop whose exception was lost: not one more measurement
                if (unit.scenario_id, rep) in done:
                    continue
                weight = estimate_s(unit.measurement)
                if on_start:
                    on_start(unit, rep, weight)
                started = now_iso()
                if unit.scenario_id in invalid:
                    outcome = Outcome("invalid", None, invalid[unit.scenario_id])
                else:
                    outcome = _measure_unit(spec, unit, seq, rep, run_dir, projects, on_note)
                record = _record(run_id, unit, rep, outcome, started)
                writer.append(record)
                _drop_probe_log(run_dir.probe_log(unit.scenario_id, rep))
                counts[record.status] = counts.get(record.status, 0) + 1
                if on_done:
                    on_done(record, weight)
        info.state = "finished"
    except KeyboardInterrupt:
        info.state = "interrupted"
        raise
    except BaseException:
        info.state = "failed"  # not "running": nothing runs it any more
        raise
    finally:
        info.finished_at = now_iso()
        write_run_info(run_dir.root, info)
        shutil.rmtree(run_dir.work, ignore_errors=True)
    return counts


def schedule(units: list[Unit]) -> list[tuple[int, Unit, int]]:
    """(sequence number, unit, repetition) in run order: round robin over repetitions.

    Within a project every unit's repetition 0 runs before any repetition 1, and so on
    (as asv interleaves), so the configurations that are compared with each other
    alternate in time and a drift of the machine's load spreads over both sides
    instead of landing on whichever ran later. Import measurements (no project) come
    first; the project is prepared once either way."""
    groups: dict[str, list[tuple[int, Unit]]] = {}
    for seq, unit in enumerate(units):
        m = unit.measurement
        key = m.scenario.project.label if PHASES[m.phase].needs_project else ""
        groups.setdefault(key, []).append((seq, unit))
    out = []
    for members in groups.values():
        reps = max(u.measurement.repetitions for _, u in members)
        for rep in range(reps):
            out += [(seq, u, rep) for seq, u in members if rep < u.measurement.repetitions]
    return out


def _record(run_id: str, unit: Unit, rep: int, outcome: Outcome, started: str) -> Record:
    m = unit.measurement
    return Record(
        run_id=run_id,
        scenario_id=unit.scenario_id,
        phase=m.phase,
        axes=_axes(unit),
        repetition=rep,
        status=outcome.status,  # type: ignore[arg-type]
        reason=outcome.reason,
        measure=outcome.measure,
        figures=PHASES[m.phase].figures.from_dict(outcome.figures, strict=True),
        started_at=started,
        method_version=PHASES[m.phase].method_version,
    )


def own_projects(
    units: list[Unit], run_dir: RunDir, info: RunInfo
) -> dict[ProjectSpec, PreparedProject | Exception]:
    """Copy and prepare every user's project before anything is measured, so that a
    failing ``prepare`` stops the run (PrepareError, a SetupError) with one line; what
    was done to each goes into run.json's ``projects``."""
    out: dict[ProjectSpec, PreparedProject | Exception] = {}
    for u in units:
        pspec = u.measurement.scenario.project
        if not PHASES[u.phase].needs_project or pspec.path is None or pspec in out:
            continue
        try:
            out[pspec] = prepare_project(pspec, run_dir.work, run_dir.logs)
        except (ProjectError, OSError, subprocess.SubprocessError) as exc:
            out[pspec] = exc
    info.projects = {
        p.spec.label: p.own.notes
        for p in out.values()
        if isinstance(p, PreparedProject) and p.own is not None
    }
    write_run_info(run_dir.root, info)
    return out


def _axes(unit: Unit) -> dict[str, Any]:
    s = unit.measurement.scenario
    axes: dict[str, Any] = dict(s.effective(unit.phase))
    if PHASES[unit.phase].needs_project:
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
    note: Callable[[str], None] | None = None,
) -> Outcome:
    m = unit.measurement
    log = run_dir.fresh_log(f"{seq:04d}-{m.phase}-r{rep}")
    project: PreparedProject | None = None
    if PHASES[m.phase].needs_project:
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
    made_at = time.monotonic()
    # Every measurement at one path, one at a time: a set-up product another measurement
    # made is then exactly what this one would make (harness.run.recipes.shared).
    ws = new_workspace(run_dir, WORKSPACE)
    workspace_s = round(time.monotonic() - made_at, 3)
    ctx = Context(ws, project, m.scenario, log, spec.timeout_s, run_dir.work / "venvs",
                  phase=m.phase, role=unit.role, task_sample=spec.task_sample,
                  bisect_steps=spec.bisect_steps, note=note,
                  probe_log=run_dir.probe_log(unit.scenario_id, rep),
                  steps={"workspace": workspace_s}, shared=run_dir.work / "shared")  # fmt: skip
    made_before = set(project.setup_s) if project else set()
    t0 = time.monotonic()
    cosmos_env: dict[str, object] = {}
    try:
        version = m.scenario.ax.cosmos_version  # a scenario has every axis: never None
        if version is not None and version != "locked":
            from harness.stack.altenv import cosmos_python, read_marker

            python = cosmos_python(version, ALTENV_ROOT.resolve(), run_dir.logs)
            ctx = dataclasses.replace(ctx, python=python)
            cosmos_env = read_marker(Path(python).parent.parent)
        outcome = recipe(m.phase)(ctx)
    except Exception as exc:  # recorded, and the run goes on
        outcome = _failed(exc, log)
    finally:
        shutil.rmtree(ws.root, ignore_errors=True)
    figures = outcome.figures
    if cosmos_env:
        # Which environment measured it, and how it was made importable (altenv).
        figures["cosmos_env"] = {k: cosmos_env.get(k) for k in ("version", "mode", "adaptations")}
    figures["log"] = str(log.relative_to(run_dir.root))
    figures["harness_s"] = round(time.monotonic() - t0, 3)
    # The seconds of each set-up step of this measurement, beside harness_s (issue 32).
    figures["setup_steps_s"] = dict(ctx.steps)
    if ctx.reused:
        figures["setup_reused"] = list(ctx.reused)
    made = {k: v for k, v in (project.setup_s if project else {}).items() if k not in made_before}
    if made:
        figures["setup_s"] = made
    return outcome


def _drop_probe_log(path: Path) -> None:
    """A bisection's probes are in its record now; the folder goes when it is empty."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def _failed(exc: Exception, log: Path) -> Outcome:
    """The error record of a repetition that raised: a failure it can meet (the project,
    the system, a subprocess) by its message; anything else is a bug of the harness's
    own, with its traceback in the measurement's log."""
    if isinstance(exc, ProjectError):
        return Outcome("error", None, str(exc))
    if isinstance(exc, OSError | RuntimeError | subprocess.SubprocessError | ValueError):
        return Outcome("error", None, f"{type(exc).__name__}: {exc}")
    with log.open("a") as f:
        traceback.print_exception(exc, file=f)
    reason = f"harness error {type(exc).__name__}: {exc} (traceback in {log.name})"
    return Outcome("error", None, reason)


def recipe(phase: str) -> Callable[[Context], Outcome]:
    """The function that measures one repetition of ``phase`` (its registry's recipe)."""
    module, _, name = PHASES[phase].recipe.partition(":")
    fn: Callable[[Context], Outcome] = getattr(importlib.import_module(module), name)
    return fn


def iter_shard(units: list[Unit], shard: tuple[int, int] | None) -> Iterator[Unit]:
    """The K-th of N shares of the units (1-based), so N machines share a matrix.

    Shares are balanced by the estimate (longest first, each to the lightest share so
    far, as the LPT rule does): every N-th unit put one 5000-model task sweep on one
    machine, 2.4 h against 1.3 h for the next. Deterministic, and each share keeps the
    units' order."""
    if shard is None:
        yield from units
        return
    k, n = shard
    cost = [estimate_s(u.measurement) * u.measurement.repetitions for u in units]
    loads = [0.0] * n
    owner = [0] * len(units)
    for i in sorted(range(len(units)), key=lambda i: (-cost[i], i)):
        owner[i] = min(range(n), key=lambda j: (loads[j], j))
        loads[owner[i]] += cost[i]
    yield from (u for i, u in enumerate(units) if owner[i] == k - 1)
