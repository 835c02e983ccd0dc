"""The report's parse-limits section: each parse's least margin under Airflow's
dagbag_import_timeout and dag_file_processor_timeout, the flagged ones first.

Built on records of the real record class with the figures harness.run.recipes.parse_probe
writes (timeout_margins, the function the phase uses) and durations set here; the printed
margins are checked against limit minus duration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from report_fixtures import both, html_table, records, with_figures

from harness.compare.samples import group_scenarios
from harness.run.recipes.parse_probe import timeout_margins
from harness.store.runinfo import RunInfo
from harness.verdicts import parselimits

LIMITS = {"dagbag_import_timeout": 30.0, "dag_file_processor_timeout": 50.0}


def parses(load_mode: str, models: int, airflow_parse_s: list[float]) -> list:  # type: ignore[type-arg]
    """Repetitions of one parse whose Airflow parse took ``airflow_parse_s`` each."""
    recs = records("dag_parse", models, 200.0, 10.0, reps=len(airflow_parse_s),
                   load_mode=load_mode)  # fmt: skip
    out = []
    for r, spent in zip(recs, airflow_parse_s, strict=True):
        report = {"airflow_parse_s": spent, "limits": LIMITS}
        out += with_figures([r], **report, **timeout_margins(report))
    return out


def test_passed_and_near_parses_are_flagged_with_their_least_margin(tmp_path: Path) -> None:
    recs = [*parses("DBT_LS", 1000, [31.5, 28.0]),  # passed once
            *parses("DBT_LS", 100, [25.0, 24.0]),  # near: 25 >= 0.8 x 30
            *parses("DBT_MANIFEST", 1000, [3.0, 3.2])]  # fmt: skip
    md, page = both(tmp_path, recs)
    start = md.index("## Parse time against Airflow's limits")
    section = md[start:md.index("\n## ", start + 1)]
    assert "2 of 3 parse configurations passed or came within 20% of a limit" in section
    rows = html_table(page, "parse-limits")
    assert [r[0] for r in rows] == [["1000 models"], ["100 models"]]
    passed, near = rows
    # the least margin over the repetitions: 30 - 31.5 and 50 - 31.5
    assert passed[3] == ["dagbag_import_timeout 30 s: -1.5 s left",
                         "dag_file_processor_timeout 50 s: 18.5 s left"]  # fmt: skip
    assert passed[4] == ["passed (1 of 2), near (1 of 2)"]
    assert near[4] == ["near (2 of 2)"]  # 24 s is 80% of 30
    assert near[3][0] == "dagbag_import_timeout 30 s: 5.0 s left"
    assert "DBT_MANIFEST" not in section


def test_without_a_flag_the_closest_parses_are_shown(tmp_path: Path) -> None:
    recs = [*parses("DBT_LS", 100, [12.0, 14.0]), *parses("DBT_MANIFEST", 100, [2.0, 2.5])]
    md, page = both(tmp_path, recs)
    assert "Every one of 2 parse configurations stayed under 80% of Airflow's limits" in md
    rows = html_table(page, "parse-limits")
    assert [r[3][0] for r in rows] == ["dagbag_import_timeout 30 s: 16.0 s left",
                                       "dagbag_import_timeout 30 s: 27.5 s left"]  # fmt: skip
    assert [r[4] for r in rows] == [["-"], ["-"]]


def test_a_run_without_parse_margins_says_not_measured(tmp_path: Path) -> None:
    md, _ = both(tmp_path, records("import", None, 100.0, 3.0, reps=2))
    assert "Not measured: no parse recorded its margins." in md


def test_environment_says_what_the_repetitions_took_against_the_estimate() -> None:
    """harness_s summed over the repetitions (an invalid one costs nothing), against
    run.json's estimate_s; a run without one says so."""
    from harness.compare.runs import RunData
    from harness.report.sections_run import time_taken

    recs = parses("DBT_LS", 100, [20.0, 21.0, 22.0])
    for r, spent in zip(recs, (600.0, 900.0, 300.0), strict=True):
        r.figures.harness_s = spent
    recs[2] = dataclasses.replace(recs[2], status="invalid")
    line = time_taken(RunData(Path("r"), RunInfo(estimate_s=1200), recs))
    assert line == ("the repetitions took 25 min; the estimate when the run began was "
                    "20 min (took / estimate 1.25)")  # fmt: skip
    assert "no estimate recorded" in time_taken(RunData(Path("r"), RunInfo(), recs))


def test_parse_margins_keep_the_least_margin_closest_first() -> None:
    recs = [*parses("DBT_MANIFEST", 1000, [3.0, 3.2]), *parses("DBT_LS", 1000, [31.5, 28.0])]
    passed, fast = parselimits.parse_margins(group_scenarios(recs))
    assert passed.margins == {"dagbag_import_timeout": -1.5, "dag_file_processor_timeout": 18.5}
    assert (passed.least, passed.airflow_parse_s, passed.repetitions) == (-1.5, 31.5, 2)
    assert passed.flags == ("passed", "near")
    assert fast.least == 30.0 - 3.2 and fast.flags == ()


def test_the_harness_share_per_phase_is_its_own_time_over_the_measured_time() -> None:
    """Each repetition spends 20 s beyond its measured command (10 s of it the project's
    set-up, 2 s its own steps): the harness's share is those seconds over the measured
    time; an invalid repetition counts nowhere."""
    from harness.compare.runs import RunData
    from harness.report.sections_run import time_table
    from harness.verdicts.overhead import phase_times

    recs = parses("DBT_LS", 100, [30.0, 30.0, 30.0])
    for r in recs:
        assert r.measure is not None
        r.figures.harness_s = r.measure.wall_s + 20.0
    recs[0].figures.setup_s = {"manifest": 10.0}
    recs[1].figures.setup_steps_s = {"workspace": 0.5, "cache": 1.5}
    recs[2] = dataclasses.replace(recs[2], status="invalid")
    [t] = phase_times(recs)
    wall = sum(r.measure.wall_s for r in recs[:2] if r.measure)
    assert (t.phase, t.measurements, t.setup_s, t.steps_s) == ("dag_parse", 2, 10.0, 2.0)
    assert t.own_s == pytest.approx(40.0)
    assert t.share == pytest.approx(40.0 / wall)
    row = time_table(RunData(Path("r"), RunInfo(), recs)).rows[0]
    assert [c.lines[0] for c in row][:2] == ["dag_parse", "2"]
    assert row[-1].lines[0] == f"{40.0 / wall:.0%}"
