"""The sizing model and `harness size`: a known linear truth is recovered, its interval
covers at the stated rate, extrapolation is marked; on the committed records the
superseded bisection is not used and a size left out is predicted within 15%."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import cast

import pytest
from readme_block import current, markers, rewrite

from harness.cli import main
from harness.size.deployments import Observation
from harness.size.model import fit, leave_one_size_out
from harness.store.jsonl import read_records
from harness.store.record import Record

BASELINES = Path(__file__).resolve().parents[1] / "results" / "baselines"
NO_RECORD = cast(Record, None)


def truth(models: int, slots: int) -> float:
    """A worker of 300 MiB plus 160 MiB a slot, each slot growing 0.13 MiB a model."""
    return 300 + 160 * slots + 0.13 * models * slots


def sample(rng: random.Random, sizes: tuple[int, ...], slots: tuple[int, ...], reps: int,
           sigma: float) -> list[Observation]:  # fmt: skip
    return [
        Observation(m, k, truth(m, k) + rng.gauss(0, sigma), NO_RECORD)
        for m in sizes for k in slots for _ in range(reps)
    ]  # fmt: skip


def test_the_fit_recovers_a_linear_truth() -> None:
    obs = sample(random.Random(1), (10, 100, 1000), (1, 2, 4), 2, 5.0)
    model = fit(obs)
    assert model is not None
    assert model.terms == ("1", "models", "slots", "models*slots")
    intercept, per_model, per_slot, per_model_slot = model.params
    assert intercept == pytest.approx(300, abs=15)
    assert per_model == pytest.approx(0.0, abs=0.02)
    assert per_slot == pytest.approx(160, abs=6)
    assert per_model_slot == pytest.approx(0.13, abs=0.01)


def test_the_interval_covers_new_runs_at_about_the_stated_rate() -> None:
    rng = random.Random(2)
    covered = trials = 0
    for _ in range(60):
        model = fit(sample(rng, (10, 100, 1000), (1, 2, 4), 2, 8.0))
        assert model is not None
        for m, k in ((100, 2), (500, 3), (1000, 4)):
            p = model.predict(m, k)
            new = truth(m, k) + rng.gauss(0, 8.0)
            assert p.low_mib is not None and p.high_mib is not None
            covered += p.low_mib <= new <= p.high_mib
            trials += 1
    assert 0.88 <= covered / trials <= 1.0  # 95% intervals: about 171 of 180


def test_an_extrapolation_is_marked_and_wider() -> None:
    model = fit(sample(random.Random(3), (10, 100, 1000), (1, 2, 4), 2, 5.0))
    assert model is not None
    inside, outside = model.predict(500, 2), model.predict(5000, 8)
    assert not inside.extrapolated and outside.extrapolated
    assert inside.low_mib is not None and inside.high_mib is not None
    assert outside.low_mib is not None and outside.high_mib is not None
    assert outside.high_mib - outside.low_mib > 2 * (inside.high_mib - inside.low_mib)
    assert outside.low_mib <= truth(5000, 8) <= outside.high_mib


def test_leave_one_size_out_on_a_noiseless_truth_has_no_error() -> None:
    obs = sample(random.Random(4), (10, 100, 1000, 5000), (1, 2, 4), 1, 0.0)
    checks = leave_one_size_out(obs)
    assert {(v.models, v.slots) for v in checks} == {
        (m, k) for m in (10, 100, 1000, 5000) for k in (1, 2, 4)
    }
    assert all(v.error is not None and abs(v.error) < 1e-6 for v in checks)


def test_sizes_and_slots_measured_only_together_drop_a_term() -> None:
    # 10 models at 2 slots and 100 at 4 only: size and slots cannot be told apart.
    rng = random.Random(5)
    obs = sample(rng, (10,), (2,), 3, 5.0) + sample(rng, (100,), (4,), 3, 5.0)
    model = fit(obs)
    assert model is not None and model.terms == ("1", "models")


def size_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["size", *args, "--results-dir", str(BASELINES), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_size_does_not_use_a_superseded_bisection(capsys: pytest.CaptureFixture[str]) -> None:
    # workers-20261202 bisected WATCHER at 1 slot, 100 models, to 846 MiB; workers-20261202e
    # measured it again at 484 MiB (the README's "not reproduced").
    doc = size_json(capsys, "workers-20261202", "workers-20261202e", "--models", "100",
                    "--executor", "celery", "--execution-mode", "WATCHER")  # fmt: skip
    names = [d["deployment"] for d in doc["deployments"]]
    assert names == ["WATCHER producer's worker", "WATCHER sensors' worker", "DAG processor"]
    for d in doc["deployments"][:2]:
        assert d["smallest_limit_mib"] == 484
        assert d["basis"] == "measured"
    superseded = [s for s in doc["superseded"] if s["scenario_id"].startswith("min_worker/")]
    assert [(s["run_id"], s["by_run_id"], round(s["figure_mib"])) for s in superseded] == [
        ("workers-20261202", "workers-20261202e", 846)
    ]
    assert "not reproduced" in superseded[0]["why"]


@pytest.mark.parametrize(("slots", "limit", "raised"), [(2, 805, False), (4, 2298, True)])
def test_a_bisection_above_the_peaks_answer_raises_the_give(
    capsys: pytest.CaptureFixture[str], slots: int, limit: int, raised: bool
) -> None:
    """sizing-20261207, Celery LOCAL at 1000 models: at 2 slots the smallest worker (805
    MiB) is within the DAG runs' peaks (818-843) plus the margin; at 4 it is 2298 MiB,
    OOM-killed at 2219, against runs that peaked at 1311-1322: the give is the limit."""
    doc = size_json(capsys, "sizing-20261207", "--models", "1000", "--executor", "celery",
                    "--worker-concurrency", str(slots))  # fmt: skip
    (worker,) = [d for d in doc["deployments"] if d["deployment"] == "Celery worker"]
    assert worker["smallest_limit_mib"] == limit and worker["raised_to_limit"] is raised
    margin = 1 + 0.10  # over the largest measured peak
    assert worker["give_mib"] >= limit
    assert (worker["give_mib"] < max(worker["measured_mib"]) * margin + 16) is not raised


def test_a_producer_measured_on_slices_is_given_at_least_its_whole_build(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """sizing-20261207 measured WATCHER's producer's Celery worker at 1000 models on
    run_nodes slices (8 models built: 589-594 MiB at 2 slots); bench-20261201b ran the
    producer task building all 1000 (759.5 MiB): the worker is given at least that task's
    answer, marked (759.5 x 1.1, rounded up). Where whole DAG runs measured it (100
    models), no floor."""
    doc = size_json(capsys, "sizing-20261207", "bench-20261201b", "--models", "1000",
                    "--executor", "celery", "--worker-concurrency", "2",
                    "--execution-mode", "WATCHER")  # fmt: skip
    producer, sensors = doc["deployments"][:2]
    floor = producer["producer_floor"]
    assert floor["deployment"] == "pod per task" and floor["measured_mib"] == [759.5]
    assert max(producer["measured_mib"]) < 600 and producer["raised_to_producer"] is True
    assert producer["give_mib"] == floor["give_mib"] == 848
    assert sensors["producer_floor"] is None  # the sensors' worker runs no dbt
    runs = sorted(p.name for p in BASELINES.iterdir() if (p / "results.jsonl").is_file())
    whole = size_json(capsys, *runs, "--models", "100", "--executor", "celery",
                      "--worker-concurrency", "1", "--execution-mode", "WATCHER")  # fmt: skip
    assert whole["deployments"][0]["producer_floor"] is None


def test_size_predicts_a_size_left_out_within_15_percent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs = sorted(p.name for p in BASELINES.iterdir() if (p / "results.jsonl").is_file())
    doc = size_json(capsys, *runs, "--models", "5000", "--executor", "pod")
    pod = doc["deployments"][0]
    assert pod["deployment"] == "pod per task" and pod["basis"] == "measured"
    left_out = [v for v in pod["validation"] if v["models"] == 5000]
    assert left_out and all(abs(v["error"]) <= 0.15 for v in left_out)
    assert left_out[0]["extrapolated"] is True
    # The DAG processor at 5000 models: past Airflow's 30 s on the AMD machine
    # (bench-20261202b), parsed in 19 s on the Intel Xeon VM (bench-20261207, 253 MiB),
    # the same scenarios: the newer records are the answer, the timeouts superseded.
    processor = doc["deployments"][1]
    assert processor["basis"] == "measured" and max(processor["measured_mib"]) >= 253
    assert processor["give_mib"] >= max(processor["measured_mib"]) * 1.1
    assert processor["failures"] == []
    assert any(s["run_id"] == "bench-20261202b" and s["by_run_id"] == "bench-20261207"
               for s in doc["superseded"])  # fmt: skip


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bench-20261202b", "--executor", "pod"], "--models and --executor are needed"),
        (["bench-20261202b", "--models", "0", "--executor", "pod"], "--models must be from 1"),
        (["bench-20261202b", "--models", "10", "--executor", "celery",
          "--worker-concurrency", "999"], "--worker-concurrency must be from 1 to 256"),
        (["no-such-run", "--models", "10", "--executor", "pod"], "no-such-run"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    assert main(["size", *args, "--results-dir", str(BASELINES)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err


BEGIN, END = markers("sizing")


def sizing_block() -> str:
    """The README's sizing section as the committed runs give it today."""
    from harness.compare.runs import load_run
    from harness.size.cli import read_current
    from harness.size.table import machine_line, sizing_table, validation_summary

    runs = sorted(p.name for p in BASELINES.iterdir() if (p / "results.jsonl").is_file())
    records = read_current(runs, BASELINES).records
    machines: dict[str, list[str]] = {}
    for name in runs:
        run = load_run(name, BASELINES)
        machines.setdefault(machine_line(run.info), []).append(run.run_id)
    where = "; ".join(
        f"{line} (runs {', '.join(f'`{r}`' for r in ids)})" for line, ids in machines.items()
    )
    return "\n".join([
        BEGIN,
        "Memory to give each worker, in MiB, from every committed run (`harness size "
        "$(ls results/baselines) --table --results-dir results/baselines`; for your own "
        "size: `--models N --executor local|celery|pod --worker-concurrency K`):",
        "",
        sizing_table(records),
        "",
        f"Measured on: {where}.",
        f"The model's largest leave-one-size-out error: {validation_summary(records)} "
        "(`harness size ... --validate` lists each size).",
        END,
    ])  # fmt: skip


def test_the_readme_sizing_table_is_the_committed_runs_answer() -> None:
    assert current("sizing") == sizing_block(), "run `python tests/test_size.py` to rewrite it"


if __name__ == "__main__":
    rewrite("sizing", sizing_block())


def test_the_report_answers_the_sizing_question_on_its_first_screen(tmp_path: Path) -> None:
    """`harness report` of the bench and workers runs together: the sizing table comes
    right after the summary, 1000 and 5000 models answered (measured or marked)."""
    from harness.report.render import write_runs_report

    runs = [BASELINES / r for r in ("bench-20261202b", "workers-20261202", "workers-20261202e")]
    md, _ = write_runs_report(runs, tmp_path / "out")
    text = md.read_text()
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections[1] == "## How big a worker", sections
    table = text.split("## How big a worker", 1)[1].split("\n## ", 1)[0]
    pod = next(line for line in table.splitlines() if line.startswith("| pod per task | LOCAL"))
    cells = [c.strip() for c in pod.strip("|").split("|")]
    # Known truth: bench-20261202b's LOCAL root tasks at 5000 models, largest peak + 10%.
    peaks = [
        r.measure.peak_tree_bytes / 2**20
        for r in read_records(BASELINES / "bench-20261202b" / "results.jsonl")
        if r.phase == "task" and r.status == "ok" and r.measure is not None
        and r.axes["models"] == 5000 and r.axes["execution_mode"] == "LOCAL"
        and r.axes["execution_invocation"] == "DBT_RUNNER"
    ]  # fmt: skip
    assert peaks and cells[6] == str(math.ceil(max(peaks) * 1.1 / 16) * 16)
    processor = next(line for line in table.splitlines() if line.startswith("| DAG processor"))
    assert "fails: DagBag import timeout" in processor  # 5000 models, bench-20261202b
