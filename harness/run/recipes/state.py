"""The state a measurement meets: the dbt ls cache (axis cache) and the msgpack dbt
finds for partial parse (axis partial_parse_state).

partial_parse_state (harness.registry.axes):
- none: nothing; the Cosmos cache_dir is empty and the project has no target/.
- cache_dir: an unmeasured parse of the same DAG with DBT_LS and the mock profile
  off leaves dbt's msgpack in the Cosmos cache_dir, as on a long-lived worker. The
  mock profile must be off: it changes DuckDB's connection info, and dbt rejects a
  msgpack of another profile ("Unable to do partial parsing because profile has
  changed").
- shipped: `dbt parse` with the runtime profile writes target/partial_parse.msgpack
  into the measurement's copy of the project, as a deployment image ships it.
- changed: as cache_dir, then one model of the copy is edited, as after a deploy.
The dbt ls cache Variable the priming parse leaves is dropped, so a cold parse
still misses it.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from harness.run.context import Context, Outcome, log_tail
from harness.run.recipes.dag import dag_spec, text_at_project
from harness.run.recipes.parse_probe import parse_report
from harness.run.recipes.shared import keep_cache_state, offer, once, tree_product
from harness.stack.dagfile import DagSpec, render_dag_file, render_profile_module
from harness.stack.workspace import dbt_bin, reset_cosmos_cache, reset_dbt_ls_cache

SHIP_PROBE = "harness.run.probes.ship_msgpack"
EDIT = "\n-- edited after the msgpack was written (partial_parse_state = changed)\n"


def state_of(ctx: Context) -> str | None:
    """The partial-parse state acting on this measurement (None: it does not act)."""
    state = ctx.scenario.effective(ctx.phase).get("partial_parse_state")
    return None if state in (None, "none") else str(state)


def project_copy(ctx: Context) -> Context:
    """shipped and changed write into the project: give them the workspace's own copy."""
    if state_of(ctx) not in ("shipped", "changed"):
        return ctx
    assert ctx.project is not None
    dst = ctx.ws.root / "project"
    if not dst.exists():
        shutil.copytree(ctx.project.path, dst, ignore=shutil.ignore_patterns("target", "logs"))
    return dataclasses.replace(ctx, project_dir=dst)


def prepare_cache(ctx: Context, dag_file: Path) -> Outcome | None:
    """Reset the dbt ls cache and the cache_dir, put the msgpack of the partial-parse
    state in place, then (cache warm) parse once. Returns a failed set-up step."""
    reset_cosmos_cache(ctx.ws)
    failed = _prepare_partial_parse(ctx)
    if failed is not None:
        return failed
    if ctx.ax.cache == "warm":

        def prime() -> Outcome | None:
            outcome, _ = parse_report(ctx, dag_file, measured=False)
            return None if outcome.status == "ok" else outcome

        texts = _warm_key(ctx, dag_file.read_text())
        return once(ctx, "prime_warm", texts, prime, *keep_cache_state(ctx))
    return None


def _prepare_partial_parse(ctx: Context) -> Outcome | None:
    state = state_of(ctx)
    if state is None:
        return None
    if state == "shipped":
        return _ship(ctx)
    failed = _prime_cache_dir(ctx)
    if failed is None and state == "changed":
        assert ctx.project_dir is not None, "project_copy(ctx) first"
        edit_one_model(ctx.project_dir)
    return failed


def _warm_key(ctx: Context, dag_text: str) -> list[str]:
    """prime_warm's key: the warm cache is made on top of the partial-parse state, so its
    key names both the DAG file and the state."""
    return [dag_text, str(state_of(ctx))]


def _prime_spec(ctx: Context) -> DagSpec:
    """The DAG whose unmeasured parse leaves a worker's msgpack in the cache_dir."""
    return dataclasses.replace(
        dag_spec(ctx),
        load_mode="DBT_LS",
        enable_mock_profile=False,
        partial_parse=True,
        manifest_path=None,
        dbt_ls_path=None,
    )


def _prime_key(ctx: Context, spec: DagSpec) -> list[str]:
    """prime_cache_dir's key: the priming DAG file, at the prepared project's path.
    Cosmos runs the priming dbt ls in a temporary copy of whichever project folder the
    DAG names, so a pristine copy (state changed, before its edit) and the prepared
    project leave the same msgpack."""
    return [text_at_project(ctx, spec)]


def keep_after_parse(ctx: Context, dag_file: Path) -> None:
    """After a measured cold parse from an empty cache_dir (state none): what it left is
    what priming its DAG file would leave, for a warm parse of that file and, if the
    file is the priming DAG, for a worker's msgpack (harness.run.recipes.shared.offer)."""
    if ctx.ax.cache != "cold" or state_of(ctx) is not None or ctx.ax.load_mode != "DBT_LS":
        return
    text = dag_file.read_text()
    offer(ctx, "prime_warm", _warm_key(ctx, text), keep_cache_state(ctx)[0])
    spec = _prime_spec(ctx)
    if render_dag_file(spec) == text:
        keep, _ = tree_product(ctx.ws.cache_dir, "cache_dir")
        offer(ctx, "prime_cache_dir", _prime_key(ctx, spec), keep)


def _prime_cache_dir(ctx: Context) -> Outcome | None:
    spec = _prime_spec(ctx)
    prime = ctx.ws.root / "prime" / "prime_dag.py"
    prime.parent.mkdir(exist_ok=True)
    prime.write_text(render_dag_file(spec))

    def make() -> Outcome | None:
        outcome, _ = parse_report(ctx, prime, measured=False)
        reset_dbt_ls_cache(ctx.ws)
        if outcome.status != "ok":
            return Outcome("error", outcome.measure, f"priming the cache_dir: {outcome.reason}")
        return None

    # The product is the msgpack in the cache_dir (the Variable is dropped above).
    product = tree_product(ctx.ws.cache_dir, "cache_dir")
    return once(ctx, "prime_cache_dir", _prime_key(ctx, spec), make, *product)


def _ship(ctx: Context) -> Outcome | None:
    module = ctx.ws.root / "prime" / "profile_config.py"
    module.parent.mkdir(exist_ok=True)
    module.write_text(render_profile_module(dag_spec(ctx)))
    assert ctx.project_dir is not None, "project_copy(ctx) first"
    cmd = [ctx.python, "-m", SHIP_PROBE, str(module), str(ctx.project_dir), dbt_bin(ctx.env())]

    def make() -> Outcome | None:
        with ctx.log.open("a") as fh:
            proc = subprocess.run(
                cmd, env=ctx.env(), cwd=ctx.ws.root, stdout=fh, stderr=fh, timeout=ctx.timeout_s
            )
        if proc.returncode != 0:
            return Outcome("error", None, f"shipping a msgpack: {log_tail(ctx.log)}")
        return None

    target = ctx.project_dir / "target"  # where the probe has dbt write it
    key = [module.read_text(), str(ctx.project_dir)]
    return once(ctx, "ship_msgpack", key, make, *tree_product(target, "target"))


def edit_one_model(project: Path) -> Path:
    """Append a comment to the first model (sorted): dbt re-parses that file only."""
    model = sorted((project / "models").rglob("*.sql"))[0]
    with model.open("a") as fh:
        fh.write(EDIT)
    return model
