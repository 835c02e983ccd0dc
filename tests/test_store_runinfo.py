"""run.json as a typed, versioned record (harness.store.runinfo.RunInfo): every committed
run.json reads and round-trips, old files migrate, unknown keys survive, and content
that is not a run.json is one line of UsageError (exit 2 from the CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.errors import UsageError
from harness.store.runinfo import (
    RUN_SCHEMA_VERSION,
    CpuReference,
    Machine,
    RunInfo,
    read_run_info,
    write_run_info,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(ROOT.glob("results/baselines/*/run.json")) + sorted(
    ROOT.glob("tests/data/*/run.json")
)
SMOKE = ROOT / "tests" / "data" / "recorded-smoke"


def test_every_committed_run_json_reads_and_round_trips() -> None:
    assert len(COMMITTED) >= 17
    unversioned = 0
    for path in COMMITTED:
        raw = json.loads(path.read_text())
        # Most were written before run.json had a version (the migration reads them); a
        # run resumed since is written again with it.
        assert raw.get("schema_version", RUN_SCHEMA_VERSION) == RUN_SCHEMA_VERSION
        unversioned += "schema_version" not in raw
        info = read_run_info(path.parent)
        assert info is not None and info.schema_version == RUN_SCHEMA_VERSION
        assert info.run_id and info.state and info.machine and info.machine.cores_logical
        assert RunInfo.from_dict(info.to_dict()) == info
        back = info.to_dict()
        assert set(raw) <= set(back), path  # nothing a committed file holds is lost
        for key, value in raw.items():
            if not isinstance(value, dict | list):
                assert back[key] == value, (path, key)
    assert unversioned >= 17


def test_merged_sources_and_speeds_are_typed() -> None:
    info = read_run_info(ROOT / "results" / "baselines" / "bench-20261124")
    assert info is not None and [s.run_id for s in info.merged_from] == [
        "20261124-000547-bench", "bench-virtualenv-parse",
    ]  # fmt: skip
    assert all(isinstance(s.machine, Machine) for s in info.merged_from)
    speeds = read_run_info(ROOT / "results" / "baselines" / "workers-20261203")
    assert speeds is not None and speeds.cpu_reference == [
        CpuReference("2026-12-03T07:21:28+00:00", 0.0754)
    ]
    assert speeds.cpu_references == [0.0754]


def test_a_version_1_file_migrates_and_unknown_keys_survive(tmp_path: Path) -> None:
    raw = {"run_id": "r", "state": "finished", "some_future_key": {"a": 1},
           "machine": {"cpu": "X", "cores": 4}}  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps(raw))
    info = read_run_info(tmp_path)
    assert info is not None
    assert (info.schema_version, info.resumed_at, info.cpu_reference) == (2, [], [])
    assert info.extra == {"some_future_key": {"a": 1}}
    assert info.machine == Machine(cpu="X", extra={"cores": 4})
    write_run_info(tmp_path, info)
    again = json.loads((tmp_path / "run.json").read_text())
    assert again["some_future_key"] == {"a": 1} and again["machine"]["cores"] == 4
    assert again["schema_version"] == 2


def test_no_run_json_is_none(tmp_path: Path) -> None:
    assert read_run_info(tmp_path) is None


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ('"finished"', "expected a JSON object, got str"),
        ("", "Expecting value"),
        ('{"machine": 5}', "machine: expected an object, got int"),
        ('{"merged_from": [{"shard": "1/2"}]}', "merged_from[0].shard: expected a list"),
        ('{"estimate_s": "soon"}', "estimate_s: expected int, got str"),
        ('{"schema_version": 99}', "run.json schema 99 is not one this harness reads"),
    ],
)
def test_bad_content_is_one_line_of_usage_error(tmp_path: Path, content: str, says: str) -> None:
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(UsageError) as err:
        read_run_info(tmp_path)
    assert says in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"{tmp_path / 'run.json'}: not a run.json: ")


def test_compare_refuses_a_bad_run_json_with_exit_2(
    tmp_path: Path, capsys: Any
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.jsonl").write_text((SMOKE / "results.jsonl").read_text())
    (bad / "run.json").write_text("[]")
    assert main(["compare", str(SMOKE), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a run.json" in err
