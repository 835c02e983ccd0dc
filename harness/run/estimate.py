"""Expected seconds of each measurement, for --dry-run's total and the progress bar's
time left.

Each phase's price is declared in the registry (harness.registry.pricing): a prior
from rough figures. It is calibrated from recorded runs (results/baselines/*): per
phase and project size, the seconds the recorded repetitions actually spent against
what the prior prices them at; a size not recorded takes the ratio of the nearest
recorded size (on a log scale), a phase never recorded its prior. Within a phase the
axes it declares as ``priced_by`` are kept apart (a whole LOCAL run is not priced by a
WATCHER one): the most specific key recorded at any size prices a measurement, then
shorter ones (``task:WATCHER/SUBPROCESS``, ``task:WATCHER``, ``task``). A record's actual
seconds are its figures.harness_s (the whole repetition, set-up and read-back
included; measure.wall_s where a record has none), less the project's shared
artefacts (`dbt parse`, `dbt ls`, `dbt build`) it happened to make first
(figures.setup_s). Those are priced apart, once per project and run, and calibrated
from setup_s the same way. Records made before setup_s was kept (before 2026-12-02)
carry their share of set-up inside harness_s.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from harness.registry import AXES, PHASES
from harness.registry.pricing import artefact_s
from harness.scenarios.matrix import Measurement
from harness.store.jsonl import RESULTS_FILE, read_records
from harness.store.record import Record

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


def _values(axes: dict[str, Any]) -> dict[str, Any]:
    """Every axis's value: the given ones, and the default of those left out."""
    values = {name: axis.default for name, axis in AXES.items()}
    values.update({k: v for k, v in axes.items() if k in AXES and v is not None})
    return values


def priced_s(phase: str, axes: dict[str, Any], models: int | None) -> float:
    """The registry's prior price of one repetition (axes left out take their default)."""
    return PHASES[phase].price(_values(axes), models or DEFAULT_MODELS)


Key = tuple[str, int]
"""(phase and its priced_by values, or "setup:<artefact>"; project size) of the
calibration."""


def keys(phase: str, axes: dict[str, Any]) -> list[str]:
    """The calibration keys of a measurement, most specific first: the phase with each
    prefix of its priced_by axes' values, down to the phase alone."""
    values = _values(axes)
    parts = [str(values[a]) for a in PHASES[phase].priced_by]
    return [phase + (":" + "/".join(parts[:i]) if i else "") for i in range(len(parts), -1, -1)]


def actual_s(record: Record) -> float | None:
    """Seconds a recorded repetition took, less the shared artefacts it made first."""
    harness_s = record.figs.harness_s
    if harness_s is None:
        return record.measure.wall_s if record.measure is not None else None
    return float(harness_s) - sum((record.figs.setup_s or {}).values())


def _size(axes: dict[str, Any]) -> int:
    models = axes.get("models")
    return int(models) if models else DEFAULT_MODELS


def calibrate(records: Iterable[Record]) -> dict[Key, float]:
    """(key, size) -> recorded seconds / priced seconds for each of a record's keys,
    and ("setup:<artefact>", size) likewise for the artefacts, over the records that
    ran (an invalid combination costs nothing) on a quiet machine (a record measured
    while other work took a core says so, ``measure.load.busy``: its time is not what
    the estimate is for)."""
    actual: dict[Key, float] = {}
    priced: dict[Key, float] = {}

    def add(key: Key, seconds: float, price: float) -> None:
        actual[key] = actual.get(key, 0.0) + seconds
        priced[key] = priced.get(key, 0.0) + price

    for r in records:
        seconds = actual_s(r)
        if r.status == "invalid" or seconds is None or r.phase not in PHASES:
            continue
        if r.measure is not None and r.measure.load is not None and r.measure.load.busy:
            continue
        size = _size(r.axes)
        price = priced_s(r.phase, r.axes, size)
        for key in keys(r.phase, r.axes):
            add((key, size), seconds, price)
        for name, made_s in (r.figs.setup_s or {}).items():
            add((f"setup:{name}", size), made_s, artefact_s(name, size))
    return {k: actual[k] / priced[k] for k in actual if priced[k] > 0}


def ratio(cal: dict[Key, float], what: str | list[str], models: int) -> float:
    """The calibration of ``what`` (the first of its keys recorded at any size) at the
    recorded size nearest ``models`` (log scale); 1.0 where none was ever recorded."""
    for key in [what] if isinstance(what, str) else what:
        sizes = [size for (w, size) in cal if w == key]
        if sizes:
            break
    else:
        return 1.0
    nearest = min(sizes, key=lambda size: (round(abs(math.log(size / models)), 9), -size))
    return cal[(key, nearest)]


def baseline_records(root: Path = BASELINES) -> list[Record]:
    """Every record of the committed runs under ``root``, a run stopped part-way
    included: the calibration is per size, so the part it reached prices its own sizes."""
    out: list[Record] = []
    for path in sorted(root.glob(f"*/{RESULTS_FILE}")):
        out.extend(read_records(path, skip_bad=True))
    return out


@functools.cache
def calibration() -> dict[Key, float]:
    """The committed runs' calibration, read once per process."""
    return calibrate(baseline_records())


def _models(m: Measurement) -> int:
    p = m.scenario.project
    return p.models or (count_models(p.path) if p.path else DEFAULT_MODELS)


def estimate_s(m: Measurement) -> float:
    """Expected wall seconds of one repetition of ``m`` (without the shared artefacts)."""
    models = _models(m)
    axes = m.scenario.axes
    return priced_s(m.phase, axes, models) * ratio(calibration(), keys(m.phase, axes), models)


def setup_estimate_s(measurements: Iterable[Measurement]) -> float:
    """Expected seconds of the shared artefacts these measurements need: each
    project's `dbt parse`, `dbt ls` and `dbt build` once (not the build where the
    project's plain dbt build is measured: it leaves its warehouse)."""
    needed: dict[tuple[str, str], int] = {}
    made: set[tuple[str, str]] = set()
    for m in measurements:
        if not PHASES[m.phase].needs_project:
            continue
        label = m.scenario.project.label
        made |= {(label, name) for name in PHASES[m.phase].makes}
        for name in PHASES[m.phase].artefacts(_values(m.scenario.axes)):
            needed[(label, name)] = _models(m)
    cal = calibration()
    return sum(
        artefact_s(name, models) * ratio(cal, f"setup:{name}", models)
        for (label, name), models in needed.items()
        if (label, name) not in made  # a measurement of the project leaves it
    )


def measuring_estimate_s(measurements: Iterable[Measurement]) -> float:
    """Every repetition of ``measurements``, the set-up left out."""
    return sum(estimate_s(m) * m.repetitions for m in measurements)


def run_estimate_s(measurements: list[Measurement]) -> float:
    """The whole run: every repetition, and the set-up once."""
    return measuring_estimate_s(measurements) + setup_estimate_s(measurements)
