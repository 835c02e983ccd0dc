"""Unit tests of the verdicts' modules (harness.verdicts), each on a few records built in
code (report_fixtures): a failure and dbt's words for it, the worker's fit over
concurrency, the recommendations as data, and the report's data gathered once (the
figures' reader is tested in test_store_figures.py)."""

from __future__ import annotations

import re
from pathlib import Path

from report_fixtures import records, with_figures, write_run

from harness.compare.runs import load_run
from harness.compare.samples import group_scenarios
from harness.verdicts import failures, goal_picks, report_data, worker_fit
from harness.verdicts.deploy import answer

MANIFEST = {"load_mode": "DBT_MANIFEST"}


def test_a_failure_quotes_dbts_error_line_from_the_kept_log(tmp_path: Path) -> None:
    (log := tmp_path / "logs" / "x.log").parent.mkdir()
    log.write_text(
        "[2026-01-01] INFO - Running dbt\n"
        "\x1b[31m[2026-01-01] INFO - Database Error in model fct_1 (models/fct_1.sql)\x1b[0m\n"
        "  relation \"raw\" does not exist\n"
    )
    (r,) = with_figures(
        records("dag_run", 10, 300, 30, reps=1, status="error", **MANIFEST),
        tasks={"fct_1_run": {"state": "failed"}, "fct_2_run": {"state": "upstream_failed"}},
        log="logs/x.log",
    )
    f = failures.failure_of(tmp_path, r)
    assert f.error == (
        'Database Error in model fct_1 (models/fct_1.sql): relation "raw" does not exist'
    )
    assert (f.failed_tasks, f.skipped, f.log) == (("fct_1_run",), 1, "logs/x.log")
    nolog = failures.failure_of(tmp_path / "elsewhere", r)
    assert nolog.error == "boom" + failures.NO_LOG
    ok = records("dag_run", 10, 300, 30, reps=1, **MANIFEST)
    assert failures.failures(tmp_path, [*ok, r]) == [f]


def test_the_worker_fit_is_a_base_and_mib_per_slot() -> None:
    fit = worker_fit.fit_slots([(1, 300.0), (2, 400.0), (4, 600.0), (4, 600.0)])
    assert fit is not None
    assert round(fit.base_mib, 6) == 200.0 and round(fit.per_slot_mib, 6) == 100.0
    assert fit.concurrencies == (1, 2, 4) and fit.n == 4
    assert worker_fit.fit_slots([(1, 300.0), (1, 310.0), (1, 320.0)]) is None
    assert worker_fit.worker_lines({}, None, 10) == ["not measured"]


def test_the_worker_lines_fit_the_answers_configuration_over_concurrency() -> None:
    recs = [
        r
        for c, mib in ((1, 300), (2, 400), (4, 600))
        for r in records("dag_run", 10, mib, 30, reps=3, concurrency=c, **MANIFEST)
    ]
    scenarios = group_scenarios(recs)
    (d,) = answer(scenarios)
    lines = worker_fit.worker_lines(scenarios, d.parts["dag_run"], 10)
    base, per_slot = (float(n) for n in re.findall(r"\d+", lines[0])[:2])
    assert 190 <= base <= 210 and 95 <= per_slot <= 105, lines[0]
    assert lines[0].endswith("; 9 runs)")
    # the records carry a 2% jitter: the measured median is within it of the fitted line
    for line, (c, mib) in zip(lines[1:], ((1, 300), (2, 400), (4, 600)), strict=True):
        fitted, measured = (float(n) for n in re.findall(r"\d+", line)[1:3])
        assert line.startswith(f"concurrency {c}: ") and abs(measured - mib) <= mib * 0.02
        assert abs(fitted - (base + per_slot * c)) <= 1


def test_the_recommendations_pick_the_lowest_peak_and_the_fastest() -> None:
    light = records("dag_run", 10, 300, 60, execution_mode="LOCAL", **MANIFEST)
    fast = records("dag_run", 10, 600, 20, execution_mode="WATCHER", **MANIFEST)
    picks = goal_picks.recommendation_data(group_scenarios(light + fast))
    by_goal = {goal: g for g in picks for goal in g.goals}
    lowest, fastest = by_goal["lowest peak memory"], by_goal["fastest"]
    assert lowest.pick is not None and fastest.pick is not None
    assert lowest.pick.settings["execution_mode"] == "LOCAL"
    assert fastest.pick.settings["execution_mode"] == "WATCHER"
    assert round(lowest.pick.memory_mib) == 300 and lowest.configurations == 2
    assert lowest.pick.text().endswith(": 300 MiB, 60.0 s")


def test_the_reports_data_is_computed_once_and_held_as_plain_data(tmp_path: Path) -> None:
    recs = records("dag_run", 10, 300, 30, **MANIFEST) + records("task", 10, 200, 10, **MANIFEST)
    run = load_run(write_run(tmp_path, recs))
    data = report_data.report_data(run, group_scenarios(run.records))
    assert len(data.guide) == 7 and [d.size for d in data.answer] == [10]
    (entry,) = report_data.answer_data(data)
    assert (entry["size"], entry["label"], entry["chosen_on"]) == (10, "10 models", "whole DAG run")
    run_part = entry["parts"]["whole DAG run"]
    assert run_part["measured"] and run_part["repetitions"] == 5
    assert abs(run_part["memory_mib"] - 300) <= 300 * 0.02
    assert entry["worker"] == data.workers[10]
    assert entry["worker"][0].endswith("(one concurrency measured: no per-slot fit)")
