"""Method versions: every record carries its recipe's version; `harness compare` flags
a scenario whose two runs measured it by different versions and leaves it out of the
verdict and the gate (as asv keeps a version of each benchmark in every result); records
written before versions existed migrate to version 1."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from harness.cli import main
from harness.compare import compare_runs, load_run
from harness.compare.format import render_markdown
from harness.measure.result import MeasureResult
from harness.registry import PHASES
from harness.store.jsonl import ResultsWriter, read_records
from harness.store.migrate import migrate
from harness.store.record import SCHEMA_VERSION, Record
from harness.store.runinfo import write_run_info

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


def _run(root: Path, name: str, mem: dict[str, float], methods: dict[str, int]) -> Path:
    """A finished run of three repetitions per scenario (``mem``: id -> MiB), each
    scenario measured by the method version ``methods`` gives it (default 1)."""
    folder = root / name
    with ResultsWriter(folder / "results.jsonl") as w:
        for rep in range(3):
            for sid, mib in mem.items():
                value = mib * (1 + 0.01 * rep)
                measure = MeasureResult(
                    backend="cgroup1", status="ok", exit_code=0, wall_s=5.0 + rep / 10,
                    user_cpu_s=1.0, system_cpu_s=0.1, peak_tree_bytes=int(value * MIB),
                    peak_single_bytes=int(value * MIB), processes_seen=2,
                )  # fmt: skip
                w.append(Record(name, sid, sid.split("/")[0], {"models": 10}, rep, "ok",
                                measure=measure, method_version=methods.get(sid, 1)))
    write_run_info(folder, {"run_id": name, "state": "finished", "backend": "cgroup1"})
    return folder


def test_every_phase_declares_a_method_version_of_one() -> None:
    # No recipe's figures changed meaning since versions were introduced (run_nodes is a
    # new axis with a quiet default: dag_run and min_worker stay at 1).
    assert {p.name: p.method_version for p in PHASES.values()} == {n: 1 for n in PHASES}


def test_a_changed_method_is_flagged_and_left_out_of_the_gate(
    tmp_path: Path, capsys: Any
) -> None:
    base = _run(tmp_path, "base", {"dag_parse/a": 500, "dag_run/b": 900}, {})
    # dag_run/b doubled, but by another version of its recipe: not a regression.
    new = _run(tmp_path, "new", {"dag_parse/a": 500, "dag_run/b": 1800}, {"dag_run/b": 2})
    cmp = compare_runs(load_run(base), load_run(new))
    b = next(s for s in cmp.scenarios if s.scenario_id == "dag_run/b")
    assert b.method_changed and not b.metrics and not b.regressed
    assert b.note == "method changed: dag_run's recipe v1 in BASE, v2 in NEW, not compared"
    assert not cmp.has_regression
    assert any("different method versions" in w and "dag_run/b" in w for w in cmp.warnings)
    assert "method changed" in render_markdown(cmp)
    assert main(["compare", str(base), str(new)]) == 0
    assert "method changed" in capsys.readouterr().out


def test_the_same_method_still_gates(tmp_path: Path) -> None:
    base = _run(tmp_path, "base", {"dag_run/b": 900}, {"dag_run/b": 2})
    new = _run(tmp_path, "new", {"dag_run/b": 1800}, {"dag_run/b": 2})
    cmp = compare_runs(load_run(base), load_run(new))
    assert cmp.regressions == [("dag_run/b", "memory")]


def test_a_run_resumed_across_a_version_is_flagged(tmp_path: Path) -> None:
    base = _run(tmp_path, "base", {"dag_run/b": 900}, {})
    new = _run(tmp_path, "new", {"dag_run/b": 900}, {})
    path = new / "results.jsonl"
    records = list(read_records(path))
    with ResultsWriter(path) as w:  # one more repetition, by version 2
        w.append(dataclasses.replace(records[-1], repetition=3, method_version=2))
    cmp = compare_runs(load_run(base), load_run(new))
    assert cmp.scenarios[0].note == (
        "method changed: dag_run's recipe v1 in BASE, v1/v2 in NEW, not compared"
    )


def test_records_before_schema_3_migrate_to_method_version_1() -> None:
    old = {"run_id": "r", "scenario_id": "import/x", "phase": "import", "axes": {},
           "repetition": 0, "status": "ok", "schema_version": 2}  # fmt: skip
    assert migrate(dict(old), 3)["method_version"] == 1
    r = Record.from_dict(old)
    assert (r.schema_version, r.method_version) == (SCHEMA_VERSION, 1) == (3, 1)
    assert json.loads(json.dumps(r.to_dict()))["method_version"] == 1


def test_committed_baselines_read_as_method_version_1() -> None:
    files = sorted((ROOT / "results" / "baselines").glob("*/results.jsonl"))
    assert files
    for path in files:
        assert {r.method_version for r in read_records(path)} == {1}
