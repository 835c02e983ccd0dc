"""The nightly gate end to end on runs built from recorded data (no Airflow): shards
merged and compared, empty and unfinished shards, pure noise against three injected
+30% memory regressions, the output's order and --all, merge's provenance, filter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from compare_sim import ROOT, noisy_copy, write_run

from harness.cli import main
from harness.compare.runs import load_run
from harness.store.jsonl import read_records
from harness.store.runinfo import read_run_info

BENCH = ROOT / "results" / "baselines" / "bench-20261124"
SMOKE = ROOT / "tests" / "data" / "recorded-smoke"


def _info(run: Path, **extra: Any) -> dict[str, Any]:
    info = read_run_info(run)
    return {**(info.to_dict() if info else {}), "state": "finished", "shard": None, **extra}


def _smoke_x3(rng: np.random.Generator, run_id: str, factors: dict[str, float] | None = None):
    """The recorded smoke run with three repetitions of each measurement."""
    base = load_run(SMOKE)
    out = []
    for rep in range(3):
        for r in noisy_copy(base, rng, run_id, factors):
            out.append(r.__class__(**{**r.__dict__, "repetition": rep}))
    return out


def _ok_ids(records: list[Any]) -> list[str]:
    return sorted({r.scenario_id for r in records if r.status == "ok" and r.phase == "dag_parse"})


def _shards(
    tmp: Path,
    records: list[Any],
    states: tuple[str, str] = ("finished", "finished"),
    empty: int | None = None,
) -> Path:
    """NEW as two shards (every other measurement), merged with `harness merge`."""
    ids = sorted({r.scenario_id for r in records})
    parts = []
    for k in (1, 2):
        mine = [r for r in records if ids.index(r.scenario_id) % 2 == k - 1 and k != empty]
        parts.append(
            write_run(tmp / f"shard-{k}", mine, _info(SMOKE, shard=[k, 2], state=states[k - 1]))
        )
    assert main(["merge", str(tmp / "new"), *map(str, parts)]) == 0
    return tmp / "new"


def test_merged_shards_against_a_baseline_with_a_regression_exit_1(
    tmp_path: Path, capsys: Any
) -> None:
    rng = np.random.default_rng(1)
    records = _smoke_x3(rng, "base")
    target = _ok_ids(records)[0]
    base = write_run(tmp_path / "base", records, _info(SMOKE))
    new = _shards(tmp_path, _smoke_x3(rng, "new", {target: 1.3}))
    assert main(["compare", str(base), str(new)]) == 1
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("REGRESSION")] == [
        target
    ]
    # the same shards without the regression pass
    assert (
        main(
            [
                "compare",
                str(base),
                str(_shards(tmp_path / "b", _smoke_x3(rng, "n"))),
            ]
        )
        == 0
    )


def test_an_empty_shard_fails_the_gate(tmp_path: Path, capsys: Any) -> None:
    rng = np.random.default_rng(2)
    base = write_run(tmp_path / "base", _smoke_x3(rng, "base"), _info(SMOKE))
    new = _shards(tmp_path, _smoke_x3(rng, "new"), empty=2)
    assert main(["compare", str(base), str(new)]) == 1
    out = capsys.readouterr().out
    assert "recorded nothing (an empty shard)" in out and "MISSING" in out


def test_an_unfinished_shard_or_an_empty_run_fails_the_gate(tmp_path: Path, capsys: Any) -> None:
    rng = np.random.default_rng(3)
    base = write_run(tmp_path / "base", _smoke_x3(rng, "base"), _info(SMOKE))
    new = _shards(tmp_path, _smoke_x3(rng, "new"), states=("finished", "interrupted"))
    assert getattr(read_run_info(new), "state", None) == "interrupted"
    assert main(["compare", str(base), str(new)]) == 1
    assert "did not finish" in capsys.readouterr().out
    empty = write_run(tmp_path / "empty", [], _info(SMOKE))
    assert main(["compare", str(base), str(empty)]) == 1
    assert "the run measured nothing" in capsys.readouterr().out


def test_noise_from_the_bench_run_passes_and_three_regressions_are_named(
    tmp_path: Path, capsys: Any
) -> None:
    bench = load_run(BENCH)
    rng = np.random.default_rng(4)
    base = write_run(tmp_path / "base", noisy_copy(bench, rng, "base"), _info(BENCH))
    noise = write_run(tmp_path / "noise", noisy_copy(bench, rng, "noise"), _info(BENCH))
    assert main(["compare", str(base), str(noise)]) == 0
    capsys.readouterr()
    ids = _ok_ids(bench.records)
    picked = [ids[i] for i in rng.choice(len(ids), 3, replace=False)]
    new = write_run(
        tmp_path / "new", noisy_copy(bench, rng, "new", dict.fromkeys(picked, 1.3)), _info(BENCH)
    )
    assert main(["compare", str(base), str(new)]) == 1
    lines = capsys.readouterr().out.splitlines()
    named = {line.split()[1] for line in lines if line.startswith("REGRESSION")}
    assert named == set(picked)
    # the regressed scenarios come first, each line with the full id and the metric
    body = [
        line.split()[1]
        for line in lines
        if line.split()[0]
        in ("REGRESSION", "check", "unstable", "improved", "same", "status", "missing", "new")
    ]
    assert set(body[: len(body) - len([b for b in body if b not in picked])]) == set(picked)
    assert all(" memory: " in line for line in lines if line.startswith("REGRESSION"))


def test_unchanged_scenarios_only_with_all(tmp_path: Path, capsys: Any) -> None:
    rng = np.random.default_rng(5)
    base = write_run(tmp_path / "base", _smoke_x3(rng, "base"), _info(SMOKE))
    new = write_run(tmp_path / "new", _smoke_x3(rng, "new"), _info(SMOKE))
    main(["compare", str(base), str(new)])
    short = capsys.readouterr().out
    main(["compare", str(base), str(new), "--all"])
    full = capsys.readouterr().out
    assert "unchanged scenario(s) not listed" in short
    ids = _ok_ids(read_records(base / "results.jsonl"))
    assert all(sid in full for sid in ids)
    assert max(len(line) for line in full.splitlines()) > 150  # nothing wrapped at 80


def test_merge_keeps_every_source_and_filter_replaces_hand_edits(
    tmp_path: Path, capsys: Any
) -> None:
    rng = np.random.default_rng(6)
    records = _smoke_x3(rng, "x")
    a = write_run(tmp_path / "a", records[:20], _info(SMOKE, shard=[1, 2]))
    other = {**_info(SMOKE, shard=[2, 2]), "commit": {"id": "f" * 40}, "machine": {"node": "ci-7"}}
    b = write_run(tmp_path / "b", records[20:], other)
    assert main(["merge", str(tmp_path / "m"), str(a), str(b)]) == 0
    info = read_run_info(tmp_path / "m")
    smoke = read_run_info(SMOKE)
    assert info and smoke and smoke.commit
    assert [s.commit.id if s.commit else None for s in info.merged_from] == [
        smoke.commit.id,
        "f" * 40,
    ]
    assert all(
        s.scenario_text and s.versions and s.state == "finished" for s in info.merged_from
    )
    assert set(info.mixed or []) == {"commit", "machine"} and info.state == "finished"
    assert (
        main(
            [
                "filter",
                str(tmp_path / "m"),
                str(tmp_path / "f"),
                "-k",
                "dag_parse and not SUBPROCESS",
                "--drop-status",
                "invalid",
            ]
        )
        == 0
    )
    kept = list(read_records(tmp_path / "f" / "results.jsonl"))
    assert kept and all(
        "dag_parse" in r.scenario_id and "SUBPROCESS" not in r.scenario_id for r in kept
    )
    filtered = read_run_info(tmp_path / "f")
    src = filtered.filtered_from if filtered else None
    assert src and src.filter and src.merged_from
    assert src.filter["k"] == "dag_parse and not SUBPROCESS" and len(src.merged_from) == 2
    assert main(["filter", str(tmp_path / "m"), str(tmp_path / "g"), "--status", "bogus"]) == 2
    assert "--status" in capsys.readouterr().err
    json.dumps(info.to_dict())  # provenance stays plain JSON
