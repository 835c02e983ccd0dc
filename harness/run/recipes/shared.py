"""Set-up a run makes once and every measurement that needs the same reuses (issue 32).

The unmeasured work before a dag_parse or task measurement (the task's DAG import, the
priming parse of a worker's msgpack, the `dbt parse` of a shipped one, the priming
parse of a warm dbt ls cache) gives the same product to every measurement with the
same DAG file, the same axes' environment and the same interpreter: in bench-20261202b
it was most of the harness's 69% (dag_parse) and 63% (task) over the measured time. The
first measurement that needs a product makes it in its own workspace and leaves a copy
under the run's ``work/shared``; the next ones copy it into theirs instead.

A copy is the product itself only because every measurement's workspace has the same
path (harness.run.runner: one at a time, removed after each): dbt's msgpack keeps a hash
of the profile's connection info, which holds the DuckDB file's path, and would be
refused ("profile has changed") from a workspace at another path. Each reuse is named
in the record (figures.setup_reused); tests/test_run_shared.py measures scenarios with
and without it and holds their figures together.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.run.context import Context, Outcome
from harness.run.recipes.parse_probe import parse_report
from harness.stack.workspace import dbt_ls_cache_rows, put_dbt_ls_cache_rows
from harness.stack_env import axis_env

Make = Callable[[], Outcome | None]
Keep = Callable[[Path], None]


def once(
    ctx: Context, kind: str, texts: list[str], make: Make, save: Keep, load: Keep
) -> Outcome | None:
    """Make a set-up product (``make``: None, or the failed step's outcome), or ``load``
    the one an earlier measurement of the run made from the same ``texts``. A product
    made here is ``save``d for the next measurements; a failed one is not kept."""
    if ctx.shared is None:
        return make()
    folder = _folder(ctx, kind, texts)
    if folder.is_dir():
        load(folder)
        ctx.reused.append(kind)
        return None
    failed = make()
    if failed is None:
        offer(ctx, kind, texts, save)
    return failed


def offer(ctx: Context, kind: str, texts: list[str], save: Keep) -> None:
    """Keep what a measurement left as ``kind``'s product for these texts, unless the
    run has one: a measured cold parse leaves what a priming parse of the same DAG file
    would (harness.run.recipes.state.keep_after_parse). Called after the measured
    command, so it costs that measurement's harness_s, not its figures."""
    if ctx.shared is None:
        return
    folder = _folder(ctx, kind, texts)
    if folder.is_dir():
        return
    part = folder.with_name(f"{folder.name}.part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    save(part)
    part.rename(folder)  # whole or absent: a product half saved is never loaded


def _folder(ctx: Context, kind: str, texts: list[str]) -> Path:
    """Where ``kind``'s product for these texts is kept: keyed also by the project (the
    texts may name only the workspace's copy of it), the interpreter (axis
    cosmos_version) and the environment the scenario's axes set."""
    assert ctx.shared is not None
    env = json.dumps(axis_env(ctx.axes, ctx.phase), sort_keys=True)
    project = str(ctx.project.path) if ctx.project else ""
    digest = hashlib.sha256("\0".join([project, ctx.python, env, *texts]).encode()).hexdigest()
    return ctx.shared / kind / digest[:24]


def keep_tree(src: Path, name: str) -> Keep:
    """Save the folder ``src`` (if it exists) as ``name`` of a product."""

    def save(folder: Path) -> None:
        if src.exists():
            shutil.copytree(src, folder / name, symlinks=True)

    return save


def load_tree(dst: Path, name: str) -> Keep:
    """Copy a product's ``name`` onto the folder ``dst`` (file times kept: Cosmos takes
    the newer of two msgpacks by their times)."""

    def load(folder: Path) -> None:
        if (folder / name).exists():
            shutil.copytree(folder / name, dst, symlinks=True, dirs_exist_ok=True)

    return load


def tree_product(path: Path, name: str) -> tuple[Keep, Keep]:
    """Save and load the folder ``path`` as ``name`` of a product (keep_tree, load_tree)."""
    return keep_tree(path, name), load_tree(path, name)


def keep_cache_state(ctx: Context) -> tuple[Keep, Keep]:
    """Save and load what a priming parse leaves: the Cosmos cache_dir and the dbt ls
    cache Variables of the measurement's Airflow database."""
    save_dir, load_dir = tree_product(ctx.ws.cache_dir, "cache_dir")

    def save(folder: Path) -> None:
        save_dir(folder)
        (folder / "variables.json").write_text(json.dumps(dbt_ls_cache_rows(ctx.ws)))

    def load(folder: Path) -> None:
        load_dir(folder)
        put_dbt_ls_cache_rows(ctx.ws, json.loads((folder / "variables.json").read_text()))

    return save, load


def dag_report(ctx: Context, dag_file: Path, key: str) -> tuple[Outcome, dict[str, Any]]:
    """The unmeasured DAG import's report (its tasks): parsed, or an earlier
    measurement's import of the same DAG (``key``: the file as it names the prepared
    project, harness.run.recipes.dag.text_at_project: a pristine copy has its tasks)."""
    got: dict[str, Any] = {}
    outcome = Outcome("ok", None)

    def make() -> Outcome | None:
        nonlocal outcome
        outcome, report = parse_report(ctx, dag_file, measured=False)
        got.update(report)
        return None if outcome.status == "ok" else outcome

    def save(folder: Path) -> None:
        (folder / "report.json").write_text(json.dumps(got))

    def load(folder: Path) -> None:
        got.update(json.loads((folder / "report.json").read_text()))

    once(ctx, "dag_import", [key], make, save, load)
    return outcome, got
