"""Write a run as pytest-benchmark JSON, so `pytest-benchmark compare` and the tools
around it (CI dashboards, github-action-benchmark) can read the harness's figures.

Layout mirrored from pytest-benchmark 5.3.1 (pytest_benchmark/plugin.py
pytest_benchmark_generate_json and stats.py Metadata.as_dict): one benchmark per
scenario; ``stats`` holds the wall times of the ok repetitions (one round per
repetition, one iteration per round); peak memory, task-slot-seconds, CPU time
and the status counts go to ``extra_info``; machine_info and commit_info come
from run.json. Scenarios without an ok repetition are left out, as
pytest-benchmark leaves out benchmarks that raised.
"""

from __future__ import annotations

import json
import statistics
from bisect import bisect_left, bisect_right
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.compare.runs import RunData
from harness.compare.samples import ScenarioSamples, group_scenarios
from harness.store.runinfo import Commit, Machine, RunInfo

PYTEST_BENCHMARK_FORMAT = "5.3.1"


def _quartiles(data: list[float]) -> tuple[float, float]:
    # pytest-benchmark's own quartile methods (Wikipedia methods 2 and 3), so its
    # iqr and outlier columns mean what its users expect.
    n = len(data)
    if n == 1:
        return data[0], data[0]
    if n % 2:
        k, q = n // 4, n % 4
        if q == 1:
            return (
                0.25 * data[k - 1] + 0.75 * data[k],
                0.75 * data[3 * k] + 0.25 * data[3 * k + 1],
            )
        return (
            0.75 * data[k] + 0.25 * data[k + 1],
            0.25 * data[3 * k + 1] + 0.75 * data[3 * k + 2],
        )
    return statistics.median(data[: n // 2]), statistics.median(data[n // 2 :])


def benchmark_stats(values: list[float]) -> dict[str, Any]:
    """pytest-benchmark's ``stats`` object for one-iteration rounds of ``values`` seconds."""
    data = sorted(values)
    mean = statistics.mean(data)
    stddev = statistics.stdev(data) if len(data) > 1 else 0.0
    q1, q3 = _quartiles(data)
    iqr = q3 - q1
    iqr_out = sum(1 for v in data if v < q1 - 1.5 * iqr or v > q3 + 1.5 * iqr)
    sd_out = sum(1 for v in data if v < mean - stddev or v > mean + stddev)
    total = sum(data)
    return {
        "min": data[0],
        "max": data[-1],
        "mean": mean,
        "stddev": stddev,
        "rounds": len(data),
        "median": statistics.median(data),
        "iqr": iqr,
        "q1": q1,
        "q3": q3,
        "iqr_outliers": iqr_out,
        "stddev_outliers": sd_out,
        "outliers": f"{sd_out};{iqr_out}",
        "ld15iqr": data[bisect_left(data, q1 - 1.5 * iqr)] if len(data) > 1 else data[0],
        "hd15iqr": data[bisect_right(data, q3 + 1.5 * iqr) - 1],
        "ops": len(data) / total if total else 0.0,
        "total": total,
        "data": list(values),
        "iterations": 1,
    }


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "data": values,
    }


def _params(axes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in axes.items():
        if isinstance(v, dict):  # the project spec: keep it one readable value
            v = ",".join(f"{a}={b}" for a, b in sorted(v.items()))
        out[k] = v
    return out


def _benchmark(s: ScenarioSamples) -> dict[str, Any]:
    ok = [r for r in s.records if r.status == "ok" and r.measure is not None]
    extra: dict[str, Any] = {
        "phase": s.phase,
        "statuses": dict(s.statuses),
        "backend": "/".join(sorted(s.backends)),
        "peak_tree_bytes": _summary([float(r.measure.peak_tree_bytes) for r in ok if r.measure]),
        "peak_single_bytes": _summary(
            [float(r.measure.peak_single_bytes) for r in ok if r.measure]
        ),
        "cpu_s": _summary([r.measure.user_cpu_s + r.measure.system_cpu_s for r in ok if r.measure]),
    }
    if "slots" in s.values:
        extra["task_slot_seconds"] = _summary(s.values["slots"])
    return {
        "group": s.phase,
        "name": s.scenario_id,
        "fullname": s.scenario_id,
        "params": _params(s.axes),
        "param": s.scenario_id.split("/", 1)[-1],
        "extra_info": extra,
        "options": {
            "disable_gc": False,
            "timer": "wall clock of the process tree (harness.measure)",
            "min_rounds": len(ok),
            "max_time": None,
            "min_time": None,
            "warmup": False,
        },
        "stats": benchmark_stats(s.values["time"]),
    }


def machine_info(info: RunInfo) -> dict[str, Any]:
    """pytest-benchmark's machine_info from run.json (with the harness's own fields added)."""
    m = info.machine or Machine()
    v = info.versions
    return {
        "node": m.node or "",
        "processor": m.cpu or "",
        "machine": m.machine or "",
        "python_compiler": "",
        "python_implementation": "CPython",
        "python_implementation_version": v.get("python") or "",
        "python_version": v.get("python") or "",
        "python_build": [],
        "release": m.kernel or "",
        "system": m.system or "",
        "cpu": {"brand_raw": m.cpu or "", "count": m.cores_logical, "arch": m.machine or ""},
        "memory_bytes": m.memory_bytes,
        "harness": {"backend": info.backend, "versions": v, "run_id": info.run_id},
    }


def commit_info(info: RunInfo) -> dict[str, Any]:
    """pytest-benchmark's commit_info from run.json's commit."""
    c = info.commit or Commit()
    return {
        "id": c.id,
        "time": c.time,
        "author_time": c.time,
        "dirty": c.dirty,
        "project": "cosmos-memory-harness",
        "branch": c.branch,
    }


def to_pytest_benchmark(run: RunData) -> dict[str, Any]:
    """The whole run as one pytest-benchmark JSON document."""
    scenarios = group_scenarios(run.records)
    return {
        "machine_info": machine_info(run.info),
        "commit_info": commit_info(run.info),
        "benchmarks": [_benchmark(s) for s in scenarios.values() if s.values.get("time")],
        "datetime": run.info.started_at or datetime.now(UTC).isoformat(),
        "version": PYTEST_BENCHMARK_FORMAT,
    }


def write_pytest_benchmark(run: RunData, path: Path) -> Path:
    """Write :func:`to_pytest_benchmark` to ``path`` (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_pytest_benchmark(run), indent=2, sort_keys=True) + "\n")
    return path
