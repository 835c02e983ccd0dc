"""The DBT_RUNNER row judged where its claim is made (issue 28, Cosmos #2295): pairs of
Celery dag_runs that differ only in execution_invocation, on the worker's peak (the tasks'
worker for LOCAL, the producer's for WATCHER) and the run's time, one place per
worker_concurrency (harness.guide.workers), on records built in code; and WATCHER's row
on Celery runs that differ only in execution_mode, on the workers' peaks summed."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from report_fixtures import records

from harness import guide
from harness.compare.format import MIB
from harness.compare.samples import group_scenarios, worker_peaks
from harness.guide import workers
from harness.guide.options import OPTIONS
from harness.store.record import Record

CELERY = {"executor": "celery", "run_nodes": 8, "load_mode": "DBT_MANIFEST"}


def celery_run(workers_mib: dict[str, float], invocation: str, status: str = "ok",
               models: int = 100, k: int = 4, reps: int = 3, evidence: dict | None = None,
               **axes: Any) -> list[Record]:  # fmt: skip
    """Three repetitions of a Celery dag_run whose scheduler loop peaks at 250 MiB on both
    sides (the run's own peak), with the workers of ``workers_mib`` (role -> MiB), each
    repetition's a little apart so that the t-test has a spread."""
    out = []
    for i in range(reps):
        peaks = [{"name": f"w-{role}", "role": role, "peak_tree_bytes": mib * (1 + 0.01 * i) * MIB}
                 for role, mib in workers_mib.items()]  # fmt: skip
        (r,) = records("dag_run", models, 250, 60, reps=1, status=status, seed=i,
                       evidence={"workers": peaks, **(evidence or {})}, worker_concurrency=k,
                       execution_invocation=invocation, **{**CELERY, **axes})  # fmt: skip
        out.append(dataclasses.replace(r, repetition=i))
    return out


def invocation_row(recs: list[Record]) -> guide.GuideRow:
    (row,) = [r for r in guide.evaluate(group_scenarios(recs)) if r.option.key == "dbt_runner"]
    return row


def test_the_worker_pairs_are_the_claims_own_setting() -> None:
    (option,) = [o for o in OPTIONS if o.key == "dbt_runner"]
    (on_worker,) = [c for c in option.contrasts if c.on_worker]
    assert "the claim's own setting" in on_worker.label
    assert on_worker.metrics == ("memory", "time")
    assert workers.worker_role({"execution_mode": "WATCHER"}) == "producer"
    assert workers.worker_role({"execution_mode": "LOCAL"}) == "tasks"


def test_dbt_runner_20_percent_above_on_the_tasks_worker_is_the_opposite() -> None:
    recs = celery_run({"tasks": 1200}, "DBT_RUNNER") + celery_run({"tasks": 1000}, "SUBPROCESS")
    row = invocation_row(recs)
    (pair,) = row.pairs
    # the worker's peak, not the run's own (the scheduler loop's: 250 MiB on both sides)
    assert 1.18 < pair.changes["memory"].ratio < 1.22
    assert pair.outcome("memory") == guide.WORSENED
    assert pair.place == "dag_run, Celery tasks worker at worker_concurrency 4"
    assert row.verdict == guide.OPPOSITE and row.size_verdicts == {100: guide.OPPOSITE}


def test_watchers_pair_is_judged_on_its_producer_not_its_sensors() -> None:
    recs = celery_run({"producer": 600, "sensors": 900}, "DBT_RUNNER", execution_mode="WATCHER")
    recs += celery_run({"producer": 800, "sensors": 400}, "SUBPROCESS", execution_mode="WATCHER")
    row = invocation_row(recs)
    (pair,) = row.pairs
    assert 0.73 < pair.changes["memory"].ratio < 0.77  # 600 / 800, the sensors ignored
    assert pair.place == "dag_run, Celery producer worker at worker_concurrency 4"
    assert row.verdict == guide.CONFIRMED
    # the largest worker's reading (harness.compare.upgrade's) is the sensors' here
    (dbt_runner, _) = group_scenarios(recs).values()
    assert worker_peaks(dbt_runner)[0] == 900 * MIB


def test_worker_pairs_that_disagree_with_parse_pairs_make_the_row_mixed() -> None:
    parse = {"load_mode": "DBT_LS", "cache": "cold"}
    recs = records("dag_parse", 100, 400, 20, reps=3, render_invocation="DBT_RUNNER", **parse)
    recs += records("dag_parse", 100, 500, 20, reps=3, render_invocation="SUBPROCESS", **parse)
    recs += celery_run({"tasks": 1200}, "DBT_RUNNER") + celery_run({"tasks": 1000}, "SUBPROCESS")
    row = invocation_row(recs)
    assert {p.place for p in row.pairs} == {
        "dag_parse", "dag_run, Celery tasks worker at worker_concurrency 4"}  # fmt: skip
    assert row.verdict == guide.MIXED and row.size_verdicts[100] == guide.MIXED
    assert "confirmed at 100 models (dag_parse)" in row.where
    assert (
        "the opposite at 100 models (dag_run, Celery tasks worker at worker_concurrency 4)"
        in row.where
    )


def test_each_worker_concurrency_is_a_place_of_its_own() -> None:
    recs = celery_run({"tasks": 800}, "DBT_RUNNER", k=1)
    recs += celery_run({"tasks": 1000}, "SUBPROCESS", k=1)
    recs += celery_run({"tasks": 1300}, "DBT_RUNNER") + celery_run({"tasks": 1000}, "SUBPROCESS")
    row = invocation_row(recs)
    assert row.verdict == guide.MIXED
    assert "at worker_concurrency 1)" in row.where and "at worker_concurrency 4)" in row.where


def test_an_oom_killed_dbt_runner_worker_decides_the_pair() -> None:
    limit = {"worker_limit_mib": 2048}
    recs = celery_run({"tasks": 2100}, "DBT_RUNNER", status="oom", **limit)
    recs += celery_run({"tasks": 1500}, "SUBPROCESS", **limit)
    row = invocation_row(recs)
    (pair,) = row.pairs
    assert pair.failure == guide.FAILS and "oom" in pair.failed
    # the margin is the subprocess worker's peak (its largest repetition), not the loop's
    assert pair.margin == (
        "execution_invocation=SUBPROCESS: peak 1530 MiB, 518 MiB under the 2048 MiB limit")
    assert row.verdict == guide.OPPOSITE


def test_celery_runs_enter_no_contrast_but_on_a_worker() -> None:
    recs = celery_run({"tasks": 1000}, "DBT_RUNNER", run_nodes=0) + celery_run(
        {"producer": 500, "sensors": 300}, "DBT_RUNNER", execution_mode="WATCHER",
        run_nodes=0)  # fmt: skip
    rows = {r.option.key: r for r in guide.evaluate(group_scenarios(recs))}
    # WATCHER against LOCAL on the workers only (the loop's 250 MiB on both sides is not
    # compared), and no sensor deferred here: shown, not judged
    (pair,) = rows["watcher"].pairs
    assert pair.place == "dag_run, Celery workers summed at worker_concurrency 4"
    assert not pair.acted and rows["watcher"].verdict == guide.NOT_MEASURED
    assert rows["dbt_runner"].pairs == []


@pytest.mark.parametrize("models", [1000, 5000])
def test_watcher_on_celery_is_judged_on_its_workers_summed(models: int) -> None:
    """Whole Celery runs that differ only in execution_mode fill row 5's cell at their
    size: the producer's and the sensors' workers together against LOCAL's tasks worker,
    one place per worker_concurrency. The same figures on run_nodes slices (sizing.toml's
    shape) judge nothing: the producer built the slice, not the project."""
    deferred = {"deferred_tasks": ["stg_00001.run"]}

    def runs(**whole: Any) -> list[Record]:
        recs = celery_run({"tasks": 1300}, "DBT_RUNNER", models=models, reps=2, **whole)
        recs += celery_run({"producer": 630, "sensors": 640}, "DBT_RUNNER", models=models,
                           reps=2, evidence=deferred, execution_mode="WATCHER", **whole)
        recs += celery_run({"tasks": 560}, "DBT_RUNNER", models=models, reps=2, k=1, **whole)
        recs += celery_run({"producer": 570, "sensors": 370}, "DBT_RUNNER", models=models,
                           reps=2, k=1, evidence=deferred, execution_mode="WATCHER", **whole)
        return recs  # fmt: skip

    sliced = {r.option.key: r for r in guide.evaluate(group_scenarios(runs()))}["watcher"]
    assert sliced.pairs == [] and models in sliced.unjudged
    row = {r.option.key: r for r in guide.evaluate(group_scenarios(runs(run_nodes=0)))}["watcher"]
    by_k = {p.place[-1]: p for p in row.pairs}
    assert 0.96 < by_k["4"].changes["memory"].ratio < 0.99  # 1270 / 1300
    assert 1.66 < by_k["1"].changes["memory"].ratio < 1.70  # 940 / 560: two workers for one
    assert by_k["4"].outcome("memory") == guide.SAME
    assert by_k["1"].outcome("memory") == guide.WORSENED
    assert row.size_verdicts[models] == guide.MIXED
    assert "the opposite at" in row.where and "worker_concurrency 1)" in row.where
