"""Where the sizing model does not hold, it says so instead of printing a number: on
records of known shape (a worker whose per-slot cost grows with the project), and on the
committed LocalExecutor records that once gave +280% and a constant over slots."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import cast

import pytest

from harness.cli import main
from harness.size.deployments import Observation
from harness.size.model import fit, leave_one_size_out
from harness.store.record import Record

BASELINES = Path(__file__).resolve().parents[1] / "results" / "baselines"
NO_RECORD = cast(Record, None)


def worker(models: int, slots: int) -> float:
    """A LocalExecutor-like worker: 250 MiB, plus per slot a task process of 130 MiB that
    grows 0.1 MiB a model (each task loads the whole manifest)."""
    return 250 + 0.01 * models + 130 * slots + 0.1 * models * slots


def observed(rng: random.Random, grid: dict[int, tuple[int, ...]], sigma: float,
             reps: int = 2) -> list[Observation]:  # fmt: skip
    return [
        Observation(m, k, worker(m, k) + rng.gauss(0, sigma), NO_RECORD)
        for m, slots in grid.items() for k in slots for _ in range(reps)
    ]  # fmt: skip


def test_a_per_slot_cost_growing_with_models_is_recovered_and_extrapolated() -> None:
    # The committed LocalExecutor worker's layout: slots varied at 30 and 1000 models only.
    grid = {10: (2,), 30: (1, 2, 4, 8), 100: (4,), 1000: (1, 4)}
    model = fit(observed(random.Random(7), grid, 10.0))
    assert model is not None
    assert model.terms == ("1", "models", "slots", "models*slots")
    assert model.params[3] == pytest.approx(0.1, abs=0.01)
    assert model.refusal(5000, 4) is None
    p = model.predict(5000, 4)
    assert p.extrapolated and p.low_mib is not None and p.high_mib is not None
    assert p.low_mib <= worker(5000, 4) <= p.high_mib
    assert p.mib == pytest.approx(worker(5000, 4), rel=0.05)


def test_too_few_comparable_records_are_refused_not_predicted_constant() -> None:
    # The LocalExecutor SUBPROCESS records: 10 models at 2 slots, 30 models at 1-8 slots.
    obs = observed(random.Random(8), {10: (2,), 30: (1, 2, 4, 8)}, 10.0)
    checks = leave_one_size_out(obs)
    assert checks and all(v.predicted is None and v.refused for v in checks)
    # Left with 10 models at 2 slots, the old fit printed that peak at every slot count.
    alone = fit([o for o in obs if o.models == 10])
    assert alone is not None and alone.refusal(10, 2) is None
    assert "slot(s) only" in (alone.refusal(10, 8) or "")
    assert "models only" in (alone.refusal(30, 2) or "")
    # Both sizes together: a per-slot cost, but not its growth with size.
    both = fit(obs)
    assert both is not None and "models*slots" not in both.terms
    assert "per-slot cost's growth" in (both.refusal(1000, 4) or "")
    assert both.refusal(30, 8) is None  # a measured size stays answered


def test_growth_within_the_noise_is_not_extrapolated() -> None:
    # 10 to 100 models: a task grows ~12 MiB; a worker's peaks scatter by 25 MiB.
    grid = {10: (1, 2, 4), 30: (1, 2, 4, 8), 100: (1, 4)}
    noisy = fit(observed(random.Random(9), grid, 25.0))
    assert noisy is not None and "models*slots" in noisy.terms
    assert "does not hold beyond 100 models" in (noisy.refusal(1000, 4) or "")
    assert noisy.refusal(50, 4) is None  # within the sizes measured
    assert noisy.refusal(5, 2) is None  # below them the growth terms add little
    # A single task's peaks scatter by 2 MiB: there the same span shows the growth.
    quiet = fit(observed(random.Random(10), {10: (1,), 30: (1,), 100: (1,)}, 2.0))
    assert quiet is not None and quiet.refusal(1000, 1) is None


def test_leave_one_size_out_keeps_what_it_can_predict() -> None:
    grid = {10: (1, 2, 4), 100: (1, 2, 4), 1000: (1, 2, 4), 5000: (1, 2)}
    checks = leave_one_size_out(observed(random.Random(11), grid, 10.0))
    assert all(v.refused is None and v.error is not None for v in checks)
    assert max(abs(v.error or 0) for v in checks) < 0.15


def size_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    runs = sorted(p.name for p in BASELINES.iterdir() if (p / "results.jsonl").is_file())
    assert main(["size", *runs, *args, "--results-dir", str(BASELINES), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_local_executor_says_where_the_model_does_not_hold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = size_json(capsys, "--models", "1000", "--executor", "local",
                    "--worker-concurrency", "4", "--invocation", "SUBPROCESS")  # fmt: skip
    local = doc["deployments"][0]
    assert local["deployment"] == "LocalExecutor worker"
    # Measured at 10 and 30 models only: no size at 1000, and no constant either.
    assert local["basis"] == "refused" and local["give_mib"] is None
    assert "per-slot cost's growth" in local["refused"]
    rows = local["validation"]
    assert rows and all(r["predicted_mib"] is None and r["refused"] for r in rows)
    # dbtRunner: 1000 models left out is not predicted from 10 to 100 (it was +280%).
    doc = size_json(capsys, "--models", "1000", "--executor", "local")
    rows = doc["deployments"][0]["validation"]
    left_out = [r for r in rows if r["models"] == 1000]
    assert left_out and all(r["refused"] and r["error"] is None for r in left_out)
    assert all(abs(r["error"]) < 0.2 for r in rows if r["error"] is not None)
