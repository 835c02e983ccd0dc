"""How much memory to give the worker you run, for the project size you have: measured
where the harness measured it, else predicted by the sizing model fitted from the runs
given (with its 95% interval, the records it came from and a margin for run-to-run
spread). `--validate` prints each measured size's leave-one-size-out error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from harness.compare.runs import RESULTS_ROOT, current_of, load_run
from harness.errors import UsageError
from harness.registry.axes import EXECUTION_MODES, INVOCATIONS
from harness.size.answer import MARGIN, Request, Sized, size
from harness.size.check import method_checks, render_checks
from harness.size.render import render_sized, render_validation, validation_row
from harness.size.table import sizing_table
from harness.store.current import Current

MAX_MODELS = 100_000
MAX_SLOTS = 256
EXECUTORS = ("local", "celery", "pod")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `harness size`."""
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="run folders or run ids under --results-dir")  # fmt: skip
    parser.add_argument("--models", type=int, help="your project's number of models")
    parser.add_argument("--executor", choices=EXECUTORS,
                        help="local (LocalExecutor), celery (a Celery worker), "
                        "pod (a pod per task)")  # fmt: skip
    parser.add_argument("--worker-concurrency", type=int, default=1, metavar="K",
                        help="task slots: [celery] worker_concurrency, or the LocalExecutor's "
                        "parallelism (default 1)")  # fmt: skip
    parser.add_argument("--execution-mode", default="LOCAL",
                        choices=[m for m in EXECUTION_MODES if m != "VIRTUALENV"])  # fmt: skip
    parser.add_argument("--invocation", choices=INVOCATIONS, default="DBT_RUNNER",
                        help="ExecutionConfig.invocation_mode")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.add_argument("--validate", action="store_true",
                        help="print each measured size's leave-one-size-out error")  # fmt: skip
    parser.add_argument("--table", action="store_true",
                        help="print every deployment at 100, 1000 and 5000 models as one "
                        "markdown table")  # fmt: skip
    parser.add_argument("--results-dir", type=Path, default=RESULTS_ROOT,
                        help="where run ids are looked up (default results/)")  # fmt: skip


def _request(args: argparse.Namespace) -> Request:
    if args.models is None or args.executor is None:
        raise UsageError("--models and --executor are needed (or --validate or --table alone)")
    if not 1 <= args.models <= MAX_MODELS:
        raise UsageError(f"--models must be from 1 to {MAX_MODELS}, got {args.models}")
    if not 1 <= args.worker_concurrency <= MAX_SLOTS:
        raise UsageError(
            f"--worker-concurrency must be from 1 to {MAX_SLOTS}, got {args.worker_concurrency}"
        )
    return Request(args.models, args.executor, args.worker_concurrency,
                   args.execution_mode, args.invocation)  # fmt: skip


def read_current(runs: list[str], results_dir: Path) -> Current:
    """The records of ``runs`` an answer across them uses (harness.store.current)."""
    return current_of([load_run(run, results_dir) for run in runs])


def _as_json(req: Request, answers: list[Sized], current: Current) -> str:
    doc: dict[str, Any] = {
        "request": dataclasses.asdict(req),
        "margin": MARGIN,
        "deployments": [
            {**dataclasses.asdict(a), "validation": [validation_row(v) for v in a.validation]}
            for a in answers
        ],
        "superseded": [dataclasses.asdict(s) for s in current.superseded],
    }
    return json.dumps(doc, indent=2, default=str)


def run(args: argparse.Namespace) -> int:
    """`harness size RUN... --models N --executor E`: prints the sizes."""
    alone = (args.validate or args.table) and args.models is None
    req = None if alone else _request(args)
    current = read_current(args.runs, args.results_dir)
    if args.table:
        print(sizing_table(current.records))
    if req is not None:
        answers = size(current.records, req)
        print(_as_json(req, answers, current) if args.json else render_sized(req, answers, current))
    if args.validate:
        print("\nLeave-one-size-out: each measured size predicted by a fit without it\n")
        print(render_validation(current.records))
        print("\nThe run_nodes method: a slice of the models against the whole DAG run\n")
        print(render_checks(method_checks(current.records)))
    return 0
