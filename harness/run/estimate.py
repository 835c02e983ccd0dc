"""Expected seconds of each measurement, for --dry-run's total and the progress bar's
time left.

Each phase's price is declared in the registry (harness.registry.pricing): a prior
from rough figures. It is calibrated from recorded runs: per phase, the seconds the
committed runs (results/baselines/*/results.jsonl) actually spent, against what the
prior prices the same measurements at. A record's actual seconds are its
figures.harness_s (the whole repetition, set-up and read-back included, so the
measured command's wall_s is part of it), or its measure.wall_s where a record has
no harness_s.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from harness.registry import AXES, PHASES
from harness.scenarios.matrix import Measurement
from harness.store.jsonl import RESULTS_FILE, read_records
from harness.store.record import Record
from harness.store.runinfo import read_run_info

DEFAULT_MODELS = 100
"""Size assumed for a user's own project whose models cannot be counted."""


@functools.lru_cache(maxsize=64)
def count_models(project: str) -> int:
    """The .sql files under a dbt project's model paths: its model count, near enough."""
    root = Path(project)
    try:
        data = yaml.safe_load((root / "dbt_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return DEFAULT_MODELS
    paths = data.get("model-paths") or data.get("source-paths") or ["models"]
    n = sum(1 for p in paths for _ in (root / str(p)).rglob("*.sql"))
    return n or DEFAULT_MODELS


BASELINES = Path(__file__).resolve().parents[2] / "results" / "baselines"
"""The committed runs the estimate is calibrated from."""


def priced_s(phase: str, axes: dict[str, Any], models: int | None) -> float:
    """The registry's prior price of one repetition (axes left out take their default)."""
    values = {name: axis.default for name, axis in AXES.items()}
    values.update({k: v for k, v in axes.items() if k in AXES and v is not None})
    return PHASES[phase].price(values, models or DEFAULT_MODELS)


def actual_s(record: Record) -> float | None:
    """Seconds a recorded repetition took (see the module docstring)."""
    harness_s = record.figures.harness_s
    if harness_s is not None:
        return float(harness_s)
    return record.measure.wall_s if record.measure is not None else None


def calibrate(records: Iterable[Record]) -> dict[str, float]:
    """Phase -> recorded seconds / priced seconds, over the records that ran (an
    invalid combination costs nothing and is left out) on a quiet machine (a record
    measured while other work took a core says so, ``measure.load.busy``: its time is
    not what the estimate is for)."""
    actual: dict[str, float] = {}
    priced: dict[str, float] = {}
    for r in records:
        seconds = actual_s(r)
        if r.status == "invalid" or seconds is None or r.phase not in PHASES:
            continue
        if r.measure is not None and r.measure.load is not None and r.measure.load.busy:
            continue
        actual[r.phase] = actual.get(r.phase, 0.0) + seconds
        priced[r.phase] = priced.get(r.phase, 0.0) + priced_s(r.phase, r.axes, r.axes.get("models"))
    return {p: actual[p] / priced[p] for p in actual if priced[p] > 0}


def baseline_records(root: Path = BASELINES) -> list[Record]:
    """Every record of the committed runs under ``root`` that finished: a run stopped
    part-way holds the part it reached (bench-20261201: the small sizes and a few large
    parses), which would price every phase by that part alone."""
    out: list[Record] = []
    for path in sorted(root.glob(f"*/{RESULTS_FILE}")):
        if read_run_info(path.parent).get("state", "finished") == "finished":
            out.extend(read_records(path))
    return out


@functools.cache
def calibration() -> dict[str, float]:
    """The committed runs' calibration, read once per process."""
    return calibrate(baseline_records())


def estimate_s(m: Measurement) -> float:
    """Expected wall seconds of one repetition of ``m`` (with its set-up)."""
    p = m.scenario.project
    models = p.models or (count_models(p.path) if p.path else DEFAULT_MODELS)
    return priced_s(m.phase, m.scenario.axes, models) * calibration().get(m.phase, 1.0)
