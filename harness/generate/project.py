"""Write a synthetic dbt project to disk, and parse it with dbt into a manifest.

The only module of the generator that touches the file system or runs dbt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.generate.graph import MAX_MODELS, MIN_MODELS, SHAPES, build_graph
from harness.generate.render import (
    GENERATOR_VERSION,
    MAX_TESTS_PER_MODEL,
    count_tests,
    project_name,
    render_project,
    seed_name,
)
from harness.stack_env import quiet_env

MARKER = ".harness-generated"
"""File in every generated project; its presence lets a later run replace the folder."""

# Characters that would break the quoted Jinja/YAML string of the DuckDB path in
# profiles.yml. Refusing them is simpler and safer than escaping twice.
_BAD_PATH_CHARS = frozenset("'\"\\\n\r\t{}")


@dataclass(frozen=True)
class GeneratedProject:
    """What :func:`generate_project` wrote."""

    path: Path
    """Absolute project directory (holds dbt_project.yml and profiles.yml)."""
    models: int
    shape: str
    seed: int
    tests_per_model: int
    model_names: tuple[str, ...]
    """Model names in topological order (parents before children)."""
    seed_names: tuple[str, ...]
    """Seed names; each is also a table of source 'raw'."""
    db_path: Path
    """Default DuckDB file of profiles.yml (env var HARNESS_DUCKDB_PATH overrides it)."""
    project_name: str
    """dbt project name, which is also the profile name."""
    tests: int
    """Number of data tests in the project."""
    files: int
    """Number of files written, the marker included."""


class DbtParseError(RuntimeError):
    """`dbt parse` failed; the message ends with the tail of dbt's output."""


def generate_project(
    out: Path,
    models: int,
    shape: str = "layered",
    seed: int = 0,
    tests_per_model: int = 1,
    db_path: Path | None = None,
) -> GeneratedProject:
    """Write a dbt project of ``models`` models of ``shape`` into ``out``.

    ``out`` must be missing, empty, or a folder this function wrote before (it
    has the marker file), which is then replaced. The DuckDB database defaults
    to ``<out>.duckdb`` beside the folder, or ``db_path``; it must be outside
    ``out``. The same arguments write a byte-identical tree.

    Raises UsageError for bad arguments or an ``out`` it must not touch; then
    nothing on disk has changed.
    """
    _check_arguments(models, shape, seed, tests_per_model)
    # abspath, not resolve(): a symlinked --out must be seen (and refused) as a link.
    out = Path(os.path.abspath(out))
    db = Path(os.path.abspath(db_path)) if db_path is not None else _default_db(out)
    _check_paths(out, db)

    graph = build_graph(models, shape, seed)
    files = render_project(graph, tests_per_model, str(db))
    marker = _marker(models, shape, seed, tests_per_model, db)

    if (out / MARKER).is_file():
        # _check_paths let it through: ours, so replace it whole (stale files
        # of a bigger project must not survive).
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    # The marker goes first: if writing dies half-way, the next run still
    # recognises the folder as ours and may replace it.
    (out / MARKER).write_text(marker + "\n", encoding="utf-8")
    _write_files(out, files)

    return GeneratedProject(
        path=out,
        models=models,
        shape=shape,
        seed=seed,
        tests_per_model=tests_per_model,
        model_names=tuple(n.name for n in graph.nodes),
        seed_names=tuple(seed_name(t) for t in graph.sources),
        db_path=db,
        project_name=project_name(graph),
        tests=count_tests(graph, tests_per_model),
        files=len(files) + 1,
    )


def _marker(models: int, shape: str, seed: int, tests_per_model: int, db: Path) -> str:
    """The marker file's text: the arguments that wrote the folder."""
    return json.dumps(
        {
            "generator": "harness generate",
            "version": GENERATOR_VERSION,
            "models": models,
            "shape": shape,
            "seed": seed,
            "tests_per_model": tests_per_model,
            "db_path": str(db),
        },
        indent=2,
        sort_keys=True,
    )


def _default_db(out: Path) -> Path:
    """The DuckDB file of a project written to (absolute) ``out`` without a db_path."""
    return Path(f"{out}.duckdb")


def is_current(
    out: Path, models: int, shape: str = "layered", seed: int = 0, tests_per_model: int = 1
) -> bool:
    """Whether ``out`` holds the project :func:`generate_project` would write for these
    arguments (its defaults otherwise) by this version of the generator."""
    out = Path(os.path.abspath(out))
    try:
        marker = (out / MARKER).read_text(encoding="utf-8")
    except OSError:
        return False
    return marker == _marker(models, shape, seed, tests_per_model, _default_db(out)) + "\n"


def write_manifest(project_dir: Path, env: dict[str, str] | None = None) -> Path:
    """Run ``dbt parse`` on the project and return its target/manifest.json.

    dbt is the executable beside this interpreter, so the locked dbt-core runs,
    not whatever is on PATH. ``env`` adds to (and overrides) the quiet stack
    environment, e.g. HARNESS_DUCKDB_PATH. Raises DbtParseError if dbt fails.
    """
    project_dir = Path(project_dir).resolve()
    dbt = Path(sys.executable).parent / "dbt"
    if not dbt.exists():
        raise DbtParseError(f"dbt not found beside the Python interpreter: {dbt}")
    cmd = [
        str(dbt),
        "parse",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
    ]
    proc = subprocess.run(
        cmd,
        env=quiet_env(env),
        cwd=project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    manifest = project_dir / "target" / "manifest.json"
    if proc.returncode != 0 or not manifest.is_file():
        tail = " | ".join(line.strip() for line in proc.stdout.splitlines()[-5:] if line.strip())
        raise DbtParseError(f"dbt parse failed (exit {proc.returncode}) in {project_dir}: {tail}")
    return manifest


def _check_arguments(models: int, shape: str, seed: int, tests_per_model: int) -> None:
    # bool is an int subclass; True models is a caller's bug, not a size.
    if isinstance(models, bool) or not isinstance(models, int):
        raise UsageError(f"--models must be a whole number, got {models!r}")
    if not MIN_MODELS <= models <= MAX_MODELS:
        raise UsageError(f"--models must be from {MIN_MODELS} to {MAX_MODELS}, got {models}")
    if shape not in SHAPES:
        raise UsageError(f"--shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {seed!r}")
    if (
        isinstance(tests_per_model, bool)
        or not isinstance(tests_per_model, int)
        or not 0 <= tests_per_model <= MAX_TESTS_PER_MODEL
    ):
        raise UsageError(
            f"--tests-per-model must be from 0 to {MAX_TESTS_PER_MODEL}, got {tests_per_model!r}"
        )


def _check_paths(out: Path, db: Path) -> None:
    """Refuse an output folder we must not replace, and a database inside it."""
    for path, flag in ((out, "--out"), (db, "database path")):
        if _BAD_PATH_CHARS & set(str(path)):
            raise UsageError(f"{flag} {path} contains a quote, backslash, brace or control char")
    if db == out or out in db.parents:
        raise UsageError(
            f"database path {db} is inside {out}: it must live outside the project "
            "(Cosmos hashes the project folder)"
        )
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise UsageError(f"--out {out} exists and is not a directory")
        if (out / MARKER).is_file():
            _check_only_ours(out)
            return
        if any(out.iterdir()):
            raise UsageError(
                f"--out {out} is not empty and was not written by harness generate; "
                "refusing to touch it"
            )


DBT_OUTPUTS = frozenset({"target", "logs", "dbt_packages", ".user.yml", "package-lock.yml"})
"""What dbt writes into a project it runs in (top-level names): replaced with the rest."""


def _written_by_us(out: Path) -> set[str] | None:
    """The files (relative paths) the generator wrote into ``out``, from the arguments
    its marker records (rendered again: the generator is deterministic), the marker
    included; None when the marker cannot be read."""
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
        graph = build_graph(marker["models"], marker["shape"], marker["seed"])
        files = render_project(graph, marker["tests_per_model"], str(marker["db_path"]))
    except (OSError, ValueError, KeyError, TypeError, UsageError):
        return None
    return {*files, MARKER}


def _check_only_ours(out: Path) -> None:
    """A folder the generator wrote is replaced whole: refuse when it holds anything
    else than the generator's files and dbt's outputs (a file the user added)."""
    ours = _written_by_us(out)
    if ours is None:
        raise UsageError(f"--out {out}: its {MARKER} cannot be read; refusing to replace it")
    folders = {os.path.dirname(rel) for rel in ours}
    folders |= {str(Path(f).parents[i]) for f in folders for i in range(len(Path(f).parts))}
    foreign = []
    for here, dirs, names in os.walk(out):
        rel = os.path.relpath(here, out)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in DBT_OUTPUTS]
            names = [n for n in names if n not in DBT_OUTPUTS]
        for d in dirs:
            path = os.path.normpath(os.path.join(rel, d))
            if path not in folders or os.path.islink(os.path.join(here, d)):
                foreign.append(path)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel, d)) in folders]
        foreign += [p for n in names if (p := os.path.normpath(os.path.join(rel, n))) not in ours]
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise UsageError(
            f"--out {out} holds {sorted(foreign)[0]}{more}, which harness generate did not "
            "write; refusing to replace it (move it, or choose another folder)"
        )


def _write_files(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path -> text) under ``root``, creating folders once."""
    made: set[str] = set()
    for rel in files:
        parent = os.path.dirname(rel)
        if parent and parent not in made:
            os.makedirs(root / parent, exist_ok=True)
            made.add(parent)
    for rel, text in files.items():
        # newline="" writes "\n" as-is on every platform: byte-identical trees.
        with open(root / rel, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
