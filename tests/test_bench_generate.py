"""Benchmarks of `harness generate`: writing 5000 models, and `dbt parse` of what it writes.

Skipped in the normal suite (pytest runs with --benchmark-skip); run them with

    .venv/bin/pytest tests/test_bench_generate.py --benchmark-only

The figures in README.md ("Generator speed") come from this file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.generate import generate_project, write_manifest

GENERATE_BUDGET_S = 2.0
"""Issue 2: generating 5000 models takes at most 2 s on the 2-core reference machine."""


def test_bench_generate_5000_layered(benchmark: Any, tmp_path: Path) -> None:
    out = tmp_path / "p5000"
    # Each round replaces the previous round's project, as a re-run does.
    project = benchmark.pedantic(
        generate_project,
        args=(out, 5000, "layered"),
        kwargs={"seed": 0, "tests_per_model": 1},
        rounds=10,
        warmup_rounds=1,
        iterations=1,
    )
    assert len(project.model_names) == 5000
    assert benchmark.stats.stats.median <= GENERATE_BUDGET_S


@pytest.mark.parametrize("models", [10, 100, 1000, 5000])
def test_bench_dbt_parse_layered(benchmark: Any, tmp_path: Path, models: int) -> None:
    project = generate_project(tmp_path / f"p{models}", models, "layered", seed=0)

    def cold() -> tuple[tuple[Path], dict[str, Any]]:
        # A full parse every round: no partial_parse.msgpack left from the last one.
        shutil.rmtree(project.path / "target", ignore_errors=True)
        return (project.path,), {}

    manifest = benchmark.pedantic(write_manifest, setup=cold, rounds=3, iterations=1)
    assert manifest.is_file()
