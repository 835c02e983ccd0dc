"""The estimate, calibrated from the committed runs, against what a committed run took."""

from __future__ import annotations

import copy
import dataclasses
import json
import tomllib
from pathlib import Path

from harness.run.estimate import BASELINES, actual_s, calibrate, calibration, estimate_s
from harness.run.runner import units_of
from harness.scenarios.load import parse_scenarios
from harness.scenarios.matrix import expand
from harness.store.jsonl import read_records

BENCH = BASELINES / "bench-20261124"


def test_calibrated_estimate_of_the_bench_within_25_percent() -> None:
    """The bench's own scenario file, as it was, priced by the calibration of every
    committed run (bench, concurrency sweep, smallest worker), against the seconds
    its 350 records took."""
    info = json.loads((BENCH / "run.json").read_text())
    text = info["scenario_text"]
    spec = parse_scenarios(tomllib.loads(text), Path("scenarios/bench.toml"), text)
    units = units_of(expand(spec), spec.task_sample)
    estimated = sum(estimate_s(u.measurement) * u.measurement.repetitions for u in units)
    records = list(read_records(BENCH / "results.jsonl"))
    recorded = sum(actual_s(r) or 0.0 for r in records if r.status != "invalid")
    assert recorded > 3600  # the run took over an hour
    assert abs(estimated - recorded) / recorded < 0.25, (estimated, recorded)


def test_calibration_is_per_phase_and_from_records() -> None:
    ratios = calibration()
    assert {"import", "dag_parse", "dag_run", "dbt_baseline"} <= set(ratios)
    assert calibrate([]) == {}
    # A phase recorded at twice its price is calibrated to 2.
    records = [r for r in read_records(BENCH / "results.jsonl") if r.phase == "import"][:1]
    (r,) = records
    r.figures.harness_s = 8.0  # the import phase is priced at 4 s
    assert calibrate(records) == {"import": 2.0}
    # ... and a record measured on a busy machine does not count (one that says so:
    # the 2026-12-01 bench records the load of each measurement)
    later = BASELINES / "bench-20261201" / "results.jsonl"
    loaded = next(r for r in read_records(later) if r.phase == "import" and r.measure)
    assert loaded.measure is not None and loaded.measure.load is not None
    busy = copy.deepcopy(loaded)
    busy.figures.harness_s = 80.0
    busy = dataclasses.replace(busy, measure=dataclasses.replace(
        loaded.measure, load=dataclasses.replace(loaded.measure.load, busy=True)))  # fmt: skip
    assert calibrate([*records, busy]) == {"import": 2.0}
