"""Run many model tasks one after another in ONE long-lived process and record its memory.

Usage:
    python -m harness.run.probes.soak --project-dir DIR --profiles-dir DIR --profile NAME
        --manifest MANIFEST_JSON --tasks N --invocation DBT_RUNNER|SUBPROCESS
        [--partial-parse | --no-partial-parse] --cache-dir DIR --tmp-dir DIR --out OUT_JSON
        [--dbt PATH] [--target dev]

Each task is a fresh Cosmos ``DbtRunLocalOperator`` for one model (``dbt run
--select MODEL``), executed in this process exactly as a LOCAL task's
``execute`` does it: the project is cloned to a temporary folder, the partial
parse cache is copied in and back, dbt is invoked through Cosmos's own
``cosmos.dbt.runner.run_command`` (DBT_RUNNER: the process-wide cached
dbtRunner) or ``FullOutputSubprocessHook`` (SUBPROCESS), compiled SQL is
collected and OpenLineage events are computed. The models are taken in turn
from the manifest against a warehouse that is already built.

After each task the process's own memory is read (psutil memory_full_info:
RSS, USS, PSS from /proc/self/smaps_rollup, about a millisecond) with the
number of live Python objects, threads and open files, so that growth can be
told apart: Python objects kept alive, native memory, or leaked handles. The
JSON file is rewritten after every task so a crash or timeout keeps the series
up to that point.

This module imports only the stack (airflow, cosmos, psutil) and the stdlib:
the figures are the stack's alone. Exit code 0 when every task succeeded.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SCHEMA = 1
"""Version of OUT_JSON. 1: {"schema", "meta", "baseline", "tasks": [sample...], "error"}."""


def model_names(manifest: Path) -> list[str]:
    """Names of the root project's models in the manifest, sorted (the cycle order)."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    root = data.get("metadata", {}).get("project_name")
    names = {
        node["name"]
        for node in data.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and (root is None or node.get("package_name") == root)
        and node.get("config", {}).get("materialized") != "ephemeral"
    }
    return sorted(names)


def sample(index: int, seconds: float | None = None, model: str | None = None) -> dict[str, Any]:
    """This process's memory and handles now (one point of the series)."""
    import psutil

    proc = psutil.Process()
    mem = proc.memory_full_info()
    out: dict[str, Any] = {
        "task": index,
        "model": model,
        "seconds": None if seconds is None else round(seconds, 4),
        "rss": mem.rss,
        "uss": getattr(mem, "uss", None),
        "pss": getattr(mem, "pss", None),
        "vms": mem.vms,
        "threads": proc.num_threads(),
        "fds": proc.num_fds(),
        # Counting objects walks the GC's lists (tens of ms): done after the memory read.
        "gc_objects": len(gc.get_objects()),
    }
    return out


def _write(out: Path, report: dict[str, Any]) -> None:
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report), encoding="utf-8")
    os.replace(tmp, out)  # atomic: a reader never sees half a file


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("apache-airflow", "astronomer-cosmos", "dbt-core", "dbt-duckdb", "duckdb"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``args.tasks`` model tasks in this process; write the series to ``args.out``."""
    out = Path(args.out)
    t0 = time.perf_counter()
    # A worker has Airflow loaded before any task; airflow also has to come before
    # cosmos.constants (circular import otherwise, docs/ARCHITECTURE.md trap 9).
    import airflow  # noqa: F401
    from cosmos.config import ProfileConfig
    from cosmos.constants import InvocationMode

    import_s = time.perf_counter() - t0
    models = args.models.split(",") if args.models else model_names(Path(args.manifest))
    if not models:
        raise SystemExit(f"no models in {args.manifest}")
    # Cosmos's TemporaryDirectory clones go here, so dbt's target/ never lands in the project.
    os.environ["TMPDIR"] = args.tmp_dir
    import tempfile

    tempfile.tempdir = args.tmp_dir
    profile = ProfileConfig(
        profile_name=args.profile,
        target_name=args.target,
        profiles_yml_filepath=Path(args.profiles_dir) / "profiles.yml",
    )
    invocation = InvocationMode[args.invocation]
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "meta": {
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "versions": _versions(),
            "invocation": args.invocation,
            "partial_parse": args.partial_parse,
            "models": len(models),
            "tasks_planned": args.tasks,
            "import_s": round(import_s, 3),
            "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
        },
        "baseline": sample(0),
        "tasks": [],
        "error": None,
    }
    _write(out, report)
    for i in range(1, args.tasks + 1):
        model = models[(i - 1) % len(models)]
        started = time.perf_counter()
        failure = _run_one_task(args, profile, invocation, model)
        if failure is not None:
            report["error"] = {"task": i, "model": model, **failure}
            _write(out, report)
            print(
                f"soak: task {i} ({model}) failed: {failure['type']}: {failure['message']}",
                file=sys.stderr,
            )
            return 1
        report["tasks"].append(sample(i, time.perf_counter() - started, model))
        _write(out, report)
    report["meta"]["total_s"] = round(time.perf_counter() - t0, 3)
    _write(out, report)
    return 0


def _run_one_task(
    args: argparse.Namespace, profile: Any, invocation: Any, model: str
) -> dict[str, str] | None:
    """Execute one model task in this process; what went wrong, or None."""
    from cosmos.operators.local import DbtRunLocalOperator

    try:
        # A fresh operator per task, as each task instance has its own; the
        # dbtRunner behind it is Cosmos's process-wide cached one.
        op = DbtRunLocalOperator(
            task_id=f"{model}_run",
            project_dir=args.project_dir,
            profile_config=profile,
            invocation_mode=invocation,
            partial_parse=args.partial_parse,
            cache_dir=Path(args.cache_dir),
            select=model,
            install_deps=False,
            # Registering outlets needs a live task instance; not part of dbt's cost.
            emit_datasets=False,
            dbt_executable_path=args.dbt,
        )
        # What Airflow hands execute(); Cosmos reads run_id and turns the rest into env vars.
        op.execute(context={"run_id": "soak"})
    except Exception as exc:  # a task failed: keep what was measured, say why
        return {
            "type": type(exc).__name__,
            "message": str(exc)[-2000:],
            "traceback": traceback.format_exc()[-4000:],
        }
    return None


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The probe's command line (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m harness.run.probes.soak")
    p.add_argument("--project-dir", required=True)
    p.add_argument("--profiles-dir", required=True)
    p.add_argument("--profile", required=True)
    p.add_argument("--target", default="dev")
    p.add_argument("--manifest", help="manifest.json to take the models from")
    p.add_argument("--models", help="comma-separated model names (instead of --manifest)")
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("--invocation", choices=("DBT_RUNNER", "SUBPROCESS"), default="DBT_RUNNER")
    p.add_argument("--partial-parse", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--cache-dir", required=True, help="Cosmos's per-DAG cache folder")
    p.add_argument("--tmp-dir", required=True, help="where Cosmos clones the project per task")
    p.add_argument("--dbt", default="dbt", help="dbt executable (SUBPROCESS)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if not args.manifest and not args.models:
        p.error("one of --manifest or --models is required")
    if args.tasks < 1:
        p.error("--tasks must be at least 1")
    return args


if __name__ == "__main__":
    raise SystemExit(run(parse_args(sys.argv[1:])))
