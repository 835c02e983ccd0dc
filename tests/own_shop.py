"""The tests' own-project fixture as a user has it (tests/data/shop_project), shared by
the own-project modules."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

from harness.store.jsonl import read_records
from harness.store.record import Record

DATA = Path(__file__).parent / "data"
SHOP = DATA / "shop_project"
PREPARE = "python scripts/load_sources.py"


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` -> sha256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def user_shop(tmp_path: Path, vendored: bool = False, missing: bool = False) -> Path:
    """The fixture as a user has it: a copy with its warehouse already built by the user."""
    dest = tmp_path / "user" / "shop"
    shutil.copytree(SHOP, dest)
    if vendored or missing:
        pkg = {"git": "https://example.invalid/shop_utils.git", "revision": "v1"}
        if missing:
            pkg = {"local": "../no_such_package"}
        (dest / "packages.yml").write_text(yaml.safe_dump({"packages": [pkg]}))
    if vendored:
        shutil.copytree(DATA / "shop_utils_package", dest / "dbt_packages" / "shop_utils")
        (dest / "models" / "marts" / "payment_share.sql").write_text(
            "select order_id, {{ shop_utils.safe_divide('amount', 'sum(amount) over ()') }}"
            " as share from {{ ref('order_payments') }}\n"
        )
    con = duckdb.connect(str(dest / "warehouse" / "shop.duckdb"))
    con.execute("create table user_owned as select 42 as answer")
    con.close()
    return dest


def run_harness(tmp_path: Path, scenario: str) -> tuple[Path, list[Record]]:
    """`harness run` of ``scenario`` (a scenario file's text) into tmp_path/results/r, as a
    user runs it; asserts it exits 0, and returns the run's folder and its records. What
    the run printed is kept in tmp_path/harness-run.log."""
    path = tmp_path / "shop.toml"
    path.write_text(scenario)
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(path), "--results-dir",
         str(tmp_path / "results"), "--run-id", "r"],
        capture_output=True, text=True, timeout=5400,
    )  # fmt: skip
    (tmp_path / "harness-run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = tmp_path / "results" / "r"
    return run, list(read_records(run / "results.jsonl"))
