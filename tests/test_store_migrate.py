"""Records of schema version 1 migrate to the current one (harness/store/migrate.py)."""

from __future__ import annotations

from pathlib import Path

from harness.store.jsonl import read_records
from harness.store.migrate import migrate
from harness.store.record import SCHEMA_VERSION, Record

ROOT = Path(__file__).resolve().parents[1]


def v1(phase: str, sid: str, axes: dict, figures: dict) -> dict:
    return {
        "run_id": "r", "scenario_id": sid, "phase": phase, "axes": axes, "repetition": 0,
        "status": "ok", "reason": None, "measure": None, "figures": figures,
        "started_at": "", "schema_version": 1,
    }  # fmt: skip


def test_v1_ids_take_the_registry_order() -> None:
    old = v1("dbt_baseline", "dbt_baseline/layered-10-s0/concurrency=2/worker_limit_mib=0",
             {"concurrency": 2, "worker_limit_mib": 0, "models": 10}, {"threads": 2})  # fmt: skip
    r = Record.from_dict(old)
    assert r.schema_version == SCHEMA_VERSION
    assert r.scenario_id == "dbt_baseline/layered-10-s0/worker_limit_mib=0/concurrency=2"
    assert r.figures.get("threads") == 2


def test_a_user_project_label_with_slashes_survives() -> None:
    sid = "soak/project=/home/me/proj:project/execution_invocation=DBT_RUNNER/partial_parse=on"
    r = Record.from_dict(v1("soak", sid, {"execution_invocation": "DBT_RUNNER"}, {}))
    assert r.scenario_id == (
        "soak/project=/home/me/proj:project/partial_parse=on/execution_invocation=DBT_RUNNER"
    )
    assert r.axes["project"] == {"path": "/home/me/proj", "profile": "project", "seed": 0}


def test_task_role_stays_last() -> None:
    sid = "task/layered-10-s0/load_mode=DBT_MANIFEST/debug_mode=off/task=root"
    data = migrate(v1("task", sid, {}, {}), 2)
    assert data["scenario_id"] == sid


def test_every_committed_baseline_migrates_and_round_trips(tmp_path: Path) -> None:
    files = sorted((ROOT / "results" / "baselines").glob("*/results.jsonl"))
    assert files
    for path in files:
        records = list(read_records(path))
        assert records and all(r.schema_version == SCHEMA_VERSION for r in records)
        again = [Record.from_dict(r.to_dict()) for r in records]
        assert again == records
        assert all(r.axes.get("models") for r in records if r.phase != "import")
