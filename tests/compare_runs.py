"""Constructed runs for the compare tests: a run folder whose scenarios have memory and
time around given centres. Shared by tests/test_compare.py and
tests/test_compare_confirm.py, which import this module rather than each other (issue 30)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from harness.measure.result import MeasureResult
from harness.store.jsonl import ResultsWriter
from harness.store.record import Record
from harness.store.runinfo import write_run_info

MIB = 1 << 20

MACHINE = {
    "node": "bench-1",
    "system": "Linux",
    "kernel": "6.1.0",
    "machine": "x86_64",
    "cpu": "Test CPU @ 3GHz",
    "cores_logical": 8,
    "cores_physical": 4,
    "memory_bytes": 16 << 30,
}
VERSIONS = {
    "python": "3.11.2",
    "apache-airflow": "3.3.0",
    "astronomer-cosmos": "1.15.0",
    "dbt-core": "1.11.2",
}


def measure_of(mem_mib: float, wall_s: float, backend: str = "cgroup1") -> MeasureResult:
    """A measurement of ``mem_mib`` MiB at its peak that took ``wall_s`` seconds."""
    return MeasureResult(
        backend=backend,  # type: ignore[arg-type]
        status="ok",
        exit_code=0,
        wall_s=wall_s,
        user_cpu_s=wall_s * 0.7,
        system_cpu_s=wall_s * 0.1,
        peak_tree_bytes=int(mem_mib * MIB),
        peak_single_bytes=int(mem_mib * 0.8 * MIB),
        processes_seen=3,
    )


def make_run(
    root: Path,
    name: str,
    scenarios: dict[str, dict[str, Any]],
    reps: int = 5,
    seed: int = 0,
    noise: float = 0.03,
    backend: str = "cgroup1",
    machine: dict[str, Any] | None = None,
    versions: dict[str, Any] | None = None,
) -> Path:
    """A run folder whose scenarios have memory/time (and slots) around given centres.

    scenarios: id -> {"phase", "mem", "time", "slots"?, "status"?}; each repetition
    is the centre times a uniform noise of +-``noise``."""
    rng = random.Random(seed)
    run_dir = root / name
    with ResultsWriter(run_dir / "results.jsonl") as w:
        for rep in range(reps):
            for sid, spec in scenarios.items():
                j = lambda x: x * (1 + rng.uniform(-noise, noise))  # noqa: E731
                status = spec.get("status", "ok")
                figures = {"task_slot_seconds": j(spec["slots"])} if "slots" in spec else {}
                w.append(
                    Record(
                        run_id=name,
                        scenario_id=sid,
                        phase=spec.get("phase", "dag_parse"),
                        axes={"load_mode": "DBT_MANIFEST", "models": 10},
                        repetition=rep,
                        status=status,
                        reason=None if status == "ok" else "killed: oom",
                        measure=measure_of(j(spec["mem"]), j(spec["time"]), backend),
                        figures=figures,
                    )
                )
    write_run_info(
        run_dir,
        {
            "run_id": name,
            "backend": backend,
            "machine": machine or MACHINE,
            "versions": versions or VERSIONS,
            "commit": {
                "id": "0" * 40,
                "branch": "main",
                "time": "2026-01-01T00:00:00+00:00",
                "dirty": False,
            },
            "started_at": "2026-01-01T00:00:00+00:00",
            "state": "finished",
        },
    )
    return run_dir


# Two scenarios, the centres of the runs the tests compare.
BASE = {
    "dag_parse/a": {"phase": "dag_parse", "mem": 500, "time": 6.0},
    "dag_run/b": {"phase": "dag_run", "mem": 900, "time": 40.0, "slots": 120.0},
}


def with_change(key: str, factor: float, sid: str = "dag_parse/a") -> dict[str, dict[str, Any]]:
    """BASE with scenario ``sid``'s ``key`` (mem, time, slots) times ``factor``."""
    out = {k: dict(v) for k, v in BASE.items()}
    out[sid][key] *= factor
    return out
