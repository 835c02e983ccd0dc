"""Simulated runs for the statistics tests: noise taken from the recorded runs.

Noise model: each repetition is its scenario's level times exp(e), e drawn at random
from the pooled log-residuals of the recorded baselines (every scenario with two or
more repetitions, value minus its scenario's mean of logs, scaled by sqrt(n/(n-1))):
the recorded mixture of quiet scenarios and a few wild ones, with its heavy tails.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from harness.compare.runs import RunData, load_run
from harness.compare.samples import group_scenarios
from harness.measure.result import MeasureResult
from harness.scenarios.matrix import expand
from harness.scenarios.scenario_file import load_scenario_file
from harness.store.jsonl import RESULTS_FILE, ResultsWriter
from harness.store.record import Record
from harness.store.runinfo import RunInfo, write_run_info

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ("results/baselines/bench-20261124", "results/baselines/concurrency-20261124")
MIB = 1 << 20
LEVEL = {"memory": 300.0 * MIB, "time": 20.0, "slots": 100.0}


@cache
def residuals(metric: str) -> np.ndarray:
    """Pooled log-residuals of ``metric`` ("memory", "time", "slots") in the recorded runs."""
    out: list[float] = []
    for folder in RECORDED:
        for s in group_scenarios(load_run(ROOT / folder).records).values():
            v = s.values.get(metric)
            if v and len(v) >= 2:
                lv = np.log(v)
                out += list((lv - lv.mean()) * np.sqrt(len(v) / (len(v) - 1)))
    return np.asarray(out)


@cache
def nightly_shape() -> list[tuple[str, str, int]]:
    """(scenario id, phase, repetitions) of scenarios/nightly.toml (tasks: 3 roles each)."""
    out = []
    for m in expand(load_scenario_file(ROOT / "scenarios" / "nightly.toml")):
        roles = ("root", "middle", "leaf") if m.phase == "task" else ("",)
        out += [(f"{m.scenario_id}/{r}".rstrip("/"), m.phase, m.repetitions) for r in roles]
    return out


def _record(run_id: str, sid: str, phase: str, rep: int, v: dict[str, float]) -> Record:
    measure = MeasureResult(
        backend="cgroup1",
        status="ok",
        exit_code=0,
        wall_s=v["time"],
        user_cpu_s=1.0,
        system_cpu_s=0.1,
        peak_tree_bytes=int(v["memory"]),
        peak_single_bytes=int(v["memory"]),
        processes_seen=3,
    )
    figures = {"task_slot_seconds": v["slots"]} if phase == "dag_run" else {}
    return Record(run_id, sid, phase, {}, rep, "ok", measure=measure, figures=figures)


def simulated_run(
    rng: np.random.Generator,
    run_id: str,
    shape: list[tuple[str, str, int]],
    factors: dict[str, float] | None = None,
    reps: int | None = None,
) -> RunData:
    """A run of ``shape`` with recorded noise; ``factors``: scenario id -> memory factor
    (an injected regression); ``reps`` overrides every scenario's repetitions."""
    records = []
    for sid, phase, n in shape:
        for rep in range(reps or n):
            v = {k: LEVEL[k] * float(np.exp(rng.choice(residuals(k)))) for k in LEVEL}
            v["memory"] *= (factors or {}).get(sid, 1.0)
            records.append(_record(run_id, sid, phase, rep, v))
    return RunData(Path(run_id), RunInfo(run_id=run_id, state="finished"), records)


def noisy_copy(
    run: RunData, rng: np.random.Generator, run_id: str, factors: dict[str, float] | None = None
) -> list[Record]:
    """Records of a new run with ``run``'s scenarios, repetitions and statuses: each ok
    value is the scenario's recorded median times recorded noise (``factors``: scenario
    id -> memory factor, an injected regression)."""
    groups = group_scenarios(run.records)
    out = []
    for r in run.records:
        if r.status != "ok" or r.measure is None:
            out.append(dataclasses.replace(r, run_id=run_id))
            continue
        s = groups[r.scenario_id]
        level = {k: float(np.median(v)) for k, v in s.values.items()}
        draw = {k: v * float(np.exp(rng.choice(residuals(k)))) for k, v in level.items()}
        draw["memory"] *= (factors or {}).get(r.scenario_id, 1.0)
        measure = dataclasses.replace(
            r.measure, peak_tree_bytes=int(draw["memory"]), wall_s=draw["time"]
        )
        figures = r.figures.to_dict()
        if "slots" in draw:
            figures["task_slot_seconds"] = draw["slots"]
        out.append(dataclasses.replace(r, run_id=run_id, measure=measure, figures=figures))
    return out


def write_run(folder: Path, records: list[Record], info: dict[str, Any]) -> Path:
    """A run folder with these records and run.json."""
    folder.mkdir(parents=True)
    with ResultsWriter(folder / RESULTS_FILE) as w:
        for r in records:
            w.append(r)
    write_run_info(folder, {**info, "run_id": folder.name})
    return folder
