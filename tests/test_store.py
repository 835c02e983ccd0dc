"""Results store: records round-trip, the file survives a torn write, bad lines are refused
or skipped, merging shards."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.errors import InputWarning
from harness.measure.result import MeasureResult
from harness.store.jsonl import CorruptResults, ResultsWriter, read_records
from harness.store.merge import MergeError, merge_runs
from harness.store.provenance import machine_info, package_versions
from harness.store.record import SCHEMA_VERSION, Record
from harness.store.runinfo import read_run_info, write_run_info


def record(sid: str = "import/x", rep: int = 0, run_id: str = "r1") -> Record:
    m = MeasureResult(
        backend="sample",
        status="ok",
        exit_code=0,
        wall_s=1.5,
        user_cpu_s=1.0,
        system_cpu_s=0.2,
        peak_tree_bytes=100 << 20,
        peak_single_bytes=90 << 20,
        processes_seen=2,
        details={"interval_ms": 10},
    )
    return Record(
        run_id=run_id,
        scenario_id=sid,
        phase="import",
        axes={"a": 1},
        repetition=rep,
        status="ok",
        measure=m,
        figures={"f": [1, 2]},
    )


def test_record_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    with ResultsWriter(path) as w:
        w.append(record())
        w.append(
            Record(
                run_id="r1",
                scenario_id="dag_parse/y",
                phase="dag_parse",
                axes={},
                repetition=0,
                status="invalid",
                reason="CosmosValueError: no",
            )
        )
    back = list(read_records(path))
    assert back[0] == record()
    assert back[1].measure is None and back[1].status == "invalid"
    assert json.loads(path.read_text().splitlines()[0])["schema_version"] == SCHEMA_VERSION


def test_torn_last_line_is_skipped_and_cut_on_reopen(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    with ResultsWriter(path) as w:
        w.append(record(rep=0))
    with path.open("a") as fh:
        fh.write('{"run_id": "r1", "scen')  # what a kill mid-write leaves
    assert [r.repetition for r in read_records(path)] == [0]
    with ResultsWriter(path) as w:
        w.append(record(rep=1))
    assert [r.repetition for r in read_records(path)] == [0, 1]


def test_bad_lines_strict_or_skipped_with_one_warning(tmp_path: Path) -> None:
    """Issue 31: strict (--resume) a complete bad line is refused by its number; the
    readers of stored runs skip the bad lines, name the first three in one warning and
    count the rest; a file with no record at all is refused either way."""
    path = tmp_path / "results.jsonl"
    good = [json.dumps(record(rep=i).to_dict()) for i in range(3)]
    bad = ["{not json", "[]", '{"run_id": 1}', "null", "[" * 100 + "]" * 100]
    path.write_text("\n".join([good[0], *bad[:3], good[1], *bad[3:], good[2]]) + "\n")
    with pytest.raises(CorruptResults, match=r"results.jsonl:2: not a result record"):
        list(read_records(path))
    with pytest.warns(InputWarning) as seen:
        assert [r.repetition for r in read_records(path, skip_bad=True)] == [0, 1, 2]
    assert len(seen) == 1
    assert str(seen[0].message).startswith(
        f"{path}: skipped 5 lines that are not result records: 2 (Expecting property name")
    assert re.search(r", 3 \(.*\), 4 \(.*\) and 2 more$", str(seen[0].message))
    path.write_text("\n".join(bad[:2]) + "\n")
    with pytest.raises(CorruptResults, match=r":1: .*; 1 more line is not a record either$"):
        list(read_records(path, skip_bad=True))
    path.write_text("")
    assert list(read_records(path, skip_bad=True)) == []


def test_merge_keeps_the_good_records_of_a_damaged_run(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [record("import/x", 0, "a"), record("import/x", 1, "a")])
    with (a / "results.jsonl").open("a") as fh:
        fh.write("{not json\n")
    with pytest.warns(InputWarning, match=r"a/results.jsonl: skipped line 3 \(Expecting"):
        assert merge_runs([a], tmp_path / "all") == 2


def test_newer_schema_is_refused() -> None:
    data = record().to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="newer"):
        Record.from_dict(data)


def test_run_info_is_measured_here(tmp_path: Path) -> None:
    info = {"machine": machine_info(), "versions": package_versions()}
    write_run_info(tmp_path, info)
    back = read_run_info(tmp_path)
    assert back is not None and back.machine is not None
    assert (back.machine.cores_logical or 0) >= 1
    assert (back.machine.memory_bytes or 0) > 0
    assert (back.versions["astronomer-cosmos"] or "").startswith("1.15")
    assert (back.versions["apache-airflow"] or "").startswith("3.3")
    assert (back.versions["dbt-core"] or "").startswith("1.11")


def test_machine_info_names_the_runner_and_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_NAME", "GitHub Actions 7")
    monkeypatch.setenv("RUNNER_OS", "Linux")
    monkeypatch.setenv("GITHUB_RUN_ID", "123")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    runner = machine_info((3, 4))["runner"]
    assert runner == {"name": "GitHub Actions 7", "os": "Linux", "run_id": "123",
                      "run_attempt": "2", "shard": "3/4"}
    for var in ("RUNNER_NAME", "RUNNER_OS", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"):
        monkeypatch.delenv(var)
    assert machine_info()["runner"] == {"name": None, "os": None, "run_id": None,
                                        "run_attempt": None, "shard": None}


def _run(tmp_path: Path, name: str, records: list[Record]) -> Path:
    d = tmp_path / name
    with ResultsWriter(d / "results.jsonl") as w:
        for r in records:
            w.append(r)
    write_run_info(d, {"run_id": name, "shard": [1, 2], "backend": "cgroup1"})
    return d


def test_merge_joins_shards(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [record("import/x", 0, "a")])
    b = _run(tmp_path, "b", [record("import/y", 0, "b"), record("import/y", 1, "b")])
    n = merge_runs([a, b], tmp_path / "all")
    assert n == 3
    merged = list(read_records(tmp_path / "all" / "results.jsonl"))
    assert {r.run_id for r in merged} == {"all"}
    assert len(getattr(read_run_info(tmp_path / "all"), "merged_from", [])) == 2


def test_merge_refuses_the_same_measurement_twice(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [record("import/x", 0, "a")])
    b = _run(tmp_path, "b", [record("import/x", 0, "b")])
    with pytest.raises(MergeError, match="in both"):
        merge_runs([a, b], tmp_path / "all")


def test_merge_keeps_every_source_machine_speed(tmp_path: Path) -> None:
    a = _run(tmp_path, "a", [record("import/x", 0, "a")])
    b = _run(tmp_path, "b", [record("import/y", 0, "b")])
    for d, s in ((a, 0.1), (b, 0.2)):
        info = read_run_info(d)
        assert info is not None
        info.add_cpu_reference(s)
        write_run_info(d, info)
    merge_runs([a, b], tmp_path / "all")
    assert getattr(read_run_info(tmp_path / "all"), "cpu_references", None) == [0.1, 0.2]
