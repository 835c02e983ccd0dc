"""Measure your own dbt project within a time budget and answer which Cosmos settings
to use: the parse's peak, a worker's peak at each concurrency, the smallest worker,
the parse time against Airflow's timeout. The answer (answer.md) and the full report
(report.md, report.html) go into the run folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.advise.answer import read_answer, write_answer
from harness.advise.plan import (
    Plan,
    Target,
    Worker,
    base_matrices,
    count_models,
    fit,
    min_worker_matrix,
    parse_budget,
    scenario_file,
)
from harness.advise.sizing import baseline_records, worker_sizes
from harness.advise.sizing import render as render_sizes
from harness.errors import UsageError
from harness.run.cli import RESULTS_ROOT, run_with_progress, supervised
from harness.run.estimate import estimate_s
from harness.run.runid import check_results_dir, check_run_id, claim_new
from harness.run.runner import Unit, units_of
from harness.scenarios import expand
from harness.scenarios.scenario_file import ScenarioFile
from harness.stack.own_project import find_profiles_yml
from harness.stack.workspace import RunDir
from harness.store.jsonl import RESULTS_FILE, latest, read_records
from harness.store.record import Record

INTERRUPTED = 130
MAX_SLOTS = 256


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness advise`."""
    parser.add_argument("path", type=Path, help="your dbt project (folder of dbt_project.yml)")
    parser.add_argument("--budget", default="30m", help="time to spend, e.g. 30m, 1h (30m)")
    parser.add_argument("--worker-mib", type=int, help="the worker memory you can give (MiB)")
    parser.add_argument(
        "--profile", choices=("project", "harness"), default="project",
        help="project: your profiles.yml against a copy of its DuckDB file; harness: a "
        "DuckDB profile the harness makes",
    )  # fmt: skip
    parser.add_argument("--prepare", metavar="CMD", help="run once in the copy first, "
                        "e.g. 'dbt seed' or 'python scripts/load.py'")  # fmt: skip
    parser.add_argument("--executor", choices=("local", "celery", "pod"),
                        help="size the worker you run: local (LocalExecutor), celery (a "
                        "Celery worker), pod (a pod per task); measured on your project "
                        "at --worker-concurrency, else from the sizing model")  # fmt: skip
    parser.add_argument("--worker-concurrency", type=int, default=None, metavar="K",
                        help="task slots of that worker (default 1)")  # fmt: skip
    parser.add_argument("--results-dir", type=Path, default=RESULTS_ROOT)
    parser.add_argument("--run-id", help="name of the run folder")


def _target(args: argparse.Namespace) -> Target:
    path = args.path.resolve()
    if not (path / "dbt_project.yml").is_file():
        raise UsageError(f"{args.path} is not a dbt project (no dbt_project.yml)")
    if args.profile == "project" and find_profiles_yml(path) is None:
        raise UsageError(f"{args.path}: no profiles.yml for it (use --profile harness)")
    if args.worker_mib is not None and args.worker_mib < 1:
        raise UsageError(f"--worker-mib: must be at least 1, got {args.worker_mib}")
    k = args.worker_concurrency
    if k is not None and not 1 <= k <= MAX_SLOTS:
        raise UsageError(f"--worker-concurrency must be from 1 to {MAX_SLOTS}, got {k}")
    if k is not None and args.executor is None:
        raise UsageError("--worker-concurrency needs --executor")
    return Target(path, args.profile, args.prepare)


def run(args: argparse.Namespace) -> int:
    """`harness advise PATH`: 0 with an answer, 130 with a partial one after Ctrl-C.

    Every check (the project, the budget and the plan it allows, the run id) is made
    before the run folder is claimed: a refusal leaves nothing behind."""
    target = _target(args)
    budget = parse_budget(args.budget)
    check_results_dir(args.results_dir)
    # The project's name is cut so that the default id stays within a name's limit.
    run_id = args.run_id or f"{datetime.now():%Y%m%d-%H%M%S}-advise-{target.path.name[:100]}"
    check_run_id("--run-id", run_id, args.results_dir)
    if args.run_id and (args.results_dir / run_id).exists():
        raise UsageError(f"--run-id: {args.results_dir / run_id} exists")
    worker = None
    if args.executor:
        worker = Worker(args.executor, args.worker_concurrency or 1, count_models(target.path))
    where = Path(os.path.abspath(args.results_dir / run_id))
    plan = fit(_spec(target, base_matrices(worker), where), budget)
    root, run_id = claim_new(args.results_dir, run_id, explicit=bool(args.run_id))
    run_dir = RunDir(root.resolve())
    # A default id another harness took meanwhile got a suffix: the plan names its folder.
    plan.spec = dataclasses.replace(plan.spec, path=run_dir.root / "scenario.toml")
    with supervised(run_dir.root, args.results_dir):
        return _advise(args, target, (budget, plan, worker), run_dir, run_id)


def _advise(
    args: argparse.Namespace,
    target: Target,
    planned: tuple[float, Plan, Worker | None],
    run_dir: RunDir,
    run_id: str,
) -> int:
    budget, plan, worker = planned
    console = Console(stderr=True)
    console.print(f"advise: {len(plan.units)} measurements planned, about "
                  f"{plan.estimate_s / 60:.0f} min of a {budget / 60:.0f} min budget")  # fmt: skip
    left = [u.scenario_id for u in plan.left_out]
    t0 = time.monotonic()
    code = run_with_progress(console, plan.spec, plan.units, run_dir, run_id, None)
    if code == 0 and worker is None:
        code, more = _min_worker(target, run_dir, run_id, budget - (time.monotonic() - t0), args)
        left += more
    ans = read_answer(run_dir.root, left, interrupted=code == INTERRUPTED)
    if worker is not None:
        sizes = worker_sizes(_records(run_dir), worker.executor, worker.slots, worker.models,
                             baseline_records())  # fmt: skip
        ans.worker = [dataclasses.asdict(s) for s in sizes]
        ans.worker_md = render_sizes(sizes, worker.executor, worker.slots, worker.models)
        ans.unmeasured.append("min_worker: not planned with --executor (the size carries "
                              "a margin for run-to-run spread instead)")  # fmt: skip
    md = write_answer(run_dir.root, ans, target.path, args.worker_mib)
    Console().print(md.read_text(), markup=False)
    _full_report(run_dir, console)
    console.print(f"answer: {md}")
    return code


def _records(run_dir: RunDir) -> list[Record]:
    path = run_dir.root / RESULTS_FILE
    return latest(read_records(path)) if path.exists() else []


def _spec(target: Target, matrices: list[dict[str, Any]], root: Path) -> ScenarioFile:
    return scenario_file(target, matrices, root / "scenario.toml")


def _min_worker(
    target: Target, run_dir: RunDir, run_id: str, left_s: float, args: argparse.Namespace
) -> tuple[int, list[str]]:
    """The smallest worker of the best DAG run, if the time left allows; (code, left out)."""
    best = read_answer(run_dir.root, [], False).best_run(args.worker_mib)
    if best is None:
        return 0, ["min_worker: no successful whole DAG run to start from"]
    spec = _spec(target, [*base_matrices(), min_worker_matrix(best)], run_dir.root)
    units: list[Unit] = [u for u in units_of(expand(spec), 1) if u.phase == "min_worker"]
    if not units or estimate_s(units[0].measurement) > left_s:
        return 0, [f"{u.scenario_id} (about {estimate_s(u.measurement) / 60:.0f} min)"
                   for u in units]  # fmt: skip
    return run_with_progress(Console(stderr=True), spec, units, run_dir, run_id, None), []


def _full_report(run_dir: RunDir, console: Console) -> None:
    # The report is the full picture beside the answer; a report that cannot be written
    # (a run interrupted before any record) must not hide the answer.
    from harness.report.render import write_report

    try:
        md, _ = write_report(run_dir.root, None)
        console.print(f"full report: {md}")
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"full report not written: {type(exc).__name__}: {exc}")
