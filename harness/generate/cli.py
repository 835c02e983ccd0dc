"""Write a synthetic dbt project (DuckDB) of 10 to 10000 models, optionally with its manifest."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from harness.errors import UsageError
from harness.generate.graph import MAX_MODELS, MIN_MODELS, SHAPES
from harness.generate.project import DbtParseError, generate_project, write_manifest
from harness.generate.render import MAX_TESTS_PER_MODEL
from harness.paths import check_output, check_path_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``harness generate``."""
    # Values are taken as strings and checked in run(): every bad value then
    # becomes a UsageError, one line and exit code 2, through the same path.
    parser.add_argument(
        "--models",
        required=True,
        metavar="N",
        help=f"number of models, {MIN_MODELS} to {MAX_MODELS}",
    )
    parser.add_argument(
        "--shape",
        default="layered",
        metavar="{" + ",".join(SHAPES) + "}",
        help="DAG shape (default: layered)",
    )
    parser.add_argument("--seed", default="0", metavar="S", help="random seed (default: 0)")
    parser.add_argument(
        "--tests-per-model",
        default="1",
        metavar="T",
        help=f"generic tests per model, 0 to {MAX_TESTS_PER_MODEL} (default: 1)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="project folder: missing (in a folder that exists), empty, or written by "
        "harness generate before and holding nothing else",
    )
    parser.add_argument(
        "--db-path",
        default=None,
        metavar="FILE",
        help="default DuckDB file in profiles.yml (default: DIR.duckdb beside DIR)",
    )
    parser.add_argument(
        "--manifest",
        action="store_true",
        help="also run `dbt parse` to write target/manifest.json",
    )


def _whole(flag: str, value: str) -> int:
    try:
        return int(value, 10)
    except ValueError:
        raise UsageError(f"{flag} must be a whole number, got {value!r}") from None


def _check_paths(out: Path, db_path: Path | None) -> bool:
    """--out must be a folder that can be made; --db-path a file, not a folder.
    True when --out was made here (removed again if the generator refuses)."""
    check_output("--out", out, folder=True)
    if db_path is not None:
        check_path_text("--db-path", db_path)
        if db_path.is_dir():
            raise UsageError(f"--db-path: {db_path} is a directory; name a DuckDB file")
        parent = db_path.parent
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"--db-path: {parent} is not a directory")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a directory")
    made = not out.exists()
    try:
        out.mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {out}: {exc.strerror}") from None
    return made


def run(args: argparse.Namespace) -> int:
    """Generate the project; print one summary line. Returns the exit code."""
    started = time.perf_counter()
    models = _whole("--models", args.models)
    seed = _whole("--seed", args.seed)
    tests = _whole("--tests-per-model", args.tests_per_model)
    db_path = Path(args.db_path) if args.db_path else None
    made = _check_paths(Path(args.out), db_path)
    try:
        project = generate_project(
            Path(args.out),
            models=models,
            shape=args.shape,
            seed=seed,
            tests_per_model=tests,
            db_path=db_path,
        )
    except UsageError:
        if made:
            shutil.rmtree(args.out, ignore_errors=True)
        raise
    elapsed = time.perf_counter() - started
    summary = (
        f"wrote {project.models} models ({project.shape}, seed {project.seed}), "
        f"{len(project.seed_names)} seeds, {project.tests} tests, {project.files} files "
        f"to {project.path} in {elapsed:.2f} s"
    )
    if args.manifest:
        started = time.perf_counter()
        try:
            manifest = write_manifest(project.path)
        except DbtParseError as exc:
            print(f"harness generate: {summary}", file=sys.stderr)
            print(f"harness generate: error: {exc}", file=sys.stderr)
            return 1
        summary += f"; {manifest} by dbt parse in {time.perf_counter() - started:.1f} s"
    print(summary)
    return 0
