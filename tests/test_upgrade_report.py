"""What upgrading does (issue 29): the pairs of scenarios that differ only in a release or
one of Cosmos's settings beyond the guide, on records with a known injected change, no
stack. The largest change comes first with its direction; a side that timed out decides
its pair; scenarios that differ in more than the version make no pair; the report, its
JSON and `harness compare` of two runs of different releases all show the table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import records

from harness.cli import main
from harness.compare.effect import (
    AVOIDS,
    CANNOT_TELL,
    FAILS,
    IMPROVED,
    NOT_SEEN,
    SAME,
    UNTESTED,
    WORSENED,
)
from harness.compare.runs import load_run
from harness.compare.samples import group_scenarios
from harness.compare.upgrade import UpgradePair, pairs_across_runs, pairs_in_run
from harness.report.render import build_report
from harness.report.sections_upgrade import upgrade_section
from harness.store.jsonl import ResultsWriter
from harness.store.record import Record
from harness.store.runinfo import write_run_info

OLD = {"cosmos_version": "1.14.2"}
MANIFEST = {"load_mode": "DBT_MANIFEST"}
VERSIONS = {"astronomer-cosmos": "1.15.1", "dbt-core": "1.11.16"}


def _injected() -> list[Record]:
    """1.14.2's task peak 20% above 1.15.1's (time the same), and a dag_parse that does
    not change at all, at 100 models; three repetitions of ±2% noise each."""
    return [
        *records("task", 100, 300, 10, reps=3, **MANIFEST),
        *records("task", 100, 360, 10, reps=3, **OLD, **MANIFEST),
        *records("dag_parse", 100, 200, 4, reps=3, **MANIFEST),
        *records("dag_parse", 100, 202, 4, reps=3, **OLD, **MANIFEST),
    ]


def _pairs(*groups: list[Record]) -> list[UpgradePair]:
    return pairs_in_run(group_scenarios([r for g in groups for r in g]), VERSIONS)


def test_the_injected_change_is_named_first_with_its_direction() -> None:
    pairs = _pairs(_injected())
    assert [(p.phase, p.differs) for p in pairs] == [
        ("task", "cosmos_version"), ("dag_parse", "cosmos_version")]  # fmt: skip
    first = pairs[0]
    # the older release is the base: upgrading to 1.15.1 lowers the peak by a sixth
    assert (first.base, first.new) == ("1.14.2", "1.15.1 (locked)")
    assert "cosmos_version=1.14.2" in first.base_id and "cosmos_version" not in first.new_id
    assert first.changes["memory"].ratio == pytest.approx(300 / 360, rel=0.03)
    assert first.verdicts["memory"] == IMPROVED
    assert first.verdicts["time"] == SAME  # shown within ±5% by TOST
    assert pairs[1].verdicts["memory"] in (SAME, NOT_SEEN)  # +1%: under the floor
    assert first.largest > pairs[1].largest
    # the other way round: a newer release that takes more is "worsened"
    worse = _pairs(records("task", 100, 360, 10, reps=3, **MANIFEST),
                   records("task", 100, 300, 10, reps=3, **OLD, **MANIFEST))  # fmt: skip
    assert worse[0].verdicts["memory"] == WORSENED


def test_a_side_that_timed_out_decides_the_pair_and_comes_first() -> None:
    timed_out = records("dag_parse", 1000, 900, 31, reps=3, status="timeout", **OLD, **MANIFEST)
    pairs = _pairs(_injected(), records("dag_parse", 1000, 800, 20, reps=3, **MANIFEST), timed_out)
    first = pairs[0]
    assert (first.phase, first.size, first.failure) == ("dag_parse", 1000, AVOIDS)
    assert first.verdicts == {"memory": AVOIDS, "time": AVOIDS, "worker": AVOIDS}
    assert "1.14.2 failed every repetition (timeout x3: boom)" in first.failed
    assert not first.changes
    assert pairs[1].phase == "task"  # then the largest measured change
    # the newer release failing is the opposite
    now_fails = _pairs(records("task", 100, 300, 10, reps=3, status="oom", **MANIFEST),
                       records("task", 100, 300, 10, reps=3, **OLD, **MANIFEST))  # fmt: skip
    assert now_fails[0].failure == FAILS and now_fails[0].verdicts["memory"] == FAILS


def test_no_pair_between_scenarios_that_differ_in_more_than_the_version() -> None:
    pairs = _pairs(
        records("task", 100, 300, 10, reps=3, **MANIFEST),
        # another execution mode, another size, another phase: not twins of the locked task
        records("task", 100, 500, 10, reps=3, execution_mode="WATCHER", **OLD, **MANIFEST),
        records("task", 1000, 500, 10, reps=3, **OLD, **MANIFEST),
        records("dag_parse", 100, 500, 10, reps=3, **OLD, **MANIFEST),
        # partly failed: it decides nothing, as in the guide
        records("task", 10, 300, 10, reps=3, **MANIFEST),
        records("task", 10, 300, 10, reps=2, **OLD, **MANIFEST)
        + records("task", 10, 300, 10, reps=1, status="oom", **OLD, **MANIFEST),
    )
    assert pairs == []


def test_settings_beyond_the_guide_pair_too() -> None:
    watcher = {"execution_mode": "WATCHER", **MANIFEST}
    pairs = _pairs(
        records("task", 1000, 600, 1175, reps=3, **watcher),  # retry on (the default)
        records("task", 1000, 600, 230, reps=3, watcher_reliable_retry=False, **watcher),
        records("task", 1000, 700, 400, reps=3, producer_threads=4, **watcher),
        records("task", 1000, 700, 390, reps=1, producer_threads=8, **watcher),
    )
    found = {(p.differs, p.base, p.new): p for p in pairs}
    # every two values of an axis, the smaller as the base; the default (0: the profile's
    # threads, reliable retry on) pairs with the others
    assert set(found) == {
        ("watcher_reliable_retry", "off", "on"),
        ("producer_threads", "0 (the profile's)", "4"),
        ("producer_threads", "0 (the profile's)", "8"),
        ("producer_threads", "4", "8"),
    }
    retry = found[("watcher_reliable_retry", "off", "on")]
    assert retry.verdicts == {"memory": SAME, "time": WORSENED}
    assert retry.changes["time"].ratio == pytest.approx(1175 / 230, rel=0.05)
    four_eight = found[("producer_threads", "4", "8")]
    # 1 repetition against 3: the t-test has the three's spread; TOST shows no equivalence
    assert four_eight.verdicts["time"] in (NOT_SEEN, CANNOT_TELL, SAME, UNTESTED)
    assert not four_eight.decided
    sizes = [p.largest for p in pairs if p.decided]
    assert sizes == sorted(sizes, reverse=True) and pairs[-1] is four_eight


def test_a_celery_run_compares_its_largest_worker() -> None:
    def workers(mib: float) -> dict[str, Any]:
        return {"workers": [{"name": "w1", "role": "tasks", "peak_tree_bytes": mib * 2**20},
                            {"name": "w0", "role": "producer", "peak_tree_bytes": 100 * 2**20}]}

    celery = {"executor": "celery", "run_nodes": 4, **MANIFEST}
    (pair,) = _pairs(
        records("dag_run", 100, 250, 60, reps=3, evidence=workers(500), **celery),
        records("dag_run", 100, 250, 60, reps=3, evidence=workers(700), **OLD, **celery),
    )
    assert pair.changes["worker"].ratio == pytest.approx(500 / 700)
    assert pair.verdicts["worker"] == IMPROVED and pair.verdicts["memory"] == SAME


def _run(path: Path, recs: list[Record], versions: dict[str, Any]) -> Path:
    path.mkdir()
    with ResultsWriter(path / "results.jsonl") as w:
        for r in recs:
            w.append(r)
    write_run_info(path, {"run_id": path.name, "versions": versions})
    return path


def test_the_report_its_json_and_html_show_the_section(tmp_path: Path, capsys: Any) -> None:
    watcher = {"execution_mode": "WATCHER", **MANIFEST}
    recs = _injected() + records("task", 1000, 600, 300, reps=3, **watcher) + records(
        "task", 1000, 600, 100, reps=3, watcher_reliable_retry=False, **watcher)  # fmt: skip
    run = _run(tmp_path / "up", recs, VERSIONS)
    report = build_report(load_run(run))
    (section,) = [s for s in report.sections if s.id == "upgrade"]
    assert section.title == "What upgrading does"
    first = section.tables[0].rows[0]
    assert [c.text for c in first[:4]] == [
        "cosmos_version", "1.14.2 -> 1.15.1 (locked)", "task", "100 models"]  # fmt: skip
    assert first[5].lines[0] == IMPROVED and "bad" not in first[5].css
    assert "good" in first[5].css
    (settings,) = section.children
    assert settings.title == "Cosmos settings beyond the guide"
    assert settings.tables[0].rows[0][5].lines[0] in (SAME, NOT_SEEN, CANNOT_TELL)
    assert main(["report", str(run), "--json"]) == 0
    md = (run / "report.md").read_text()
    assert "## What upgrading does" in md and "### Cosmos settings beyond the guide" in md
    assert md.index("| `cosmos_version` | 1.14.2 -> 1.15.1 (locked) | task |") < md.index(
        "| `cosmos_version` | 1.14.2 -> 1.15.1 (locked) | dag_parse |")  # fmt: skip
    assert 'id="upgrade"' in (run / "report.html").read_text()
    data = json.loads((run / "report.json").read_text())
    # every pair, largest first: the settings' threefold time before the release's -17%
    assert [(u["differs"], u["phase"]) for u in data["upgrade"]] == [
        ("watcher_reliable_retry", "task"), ("cosmos_version", "task"),
        ("cosmos_version", "dag_parse")]  # fmt: skip
    assert data["upgrade"][1]["verdicts"]["memory"] == IMPROVED
    capsys.readouterr()


def test_compare_of_two_runs_of_different_releases_adds_the_table(
    tmp_path: Path, capsys: Any
) -> None:
    base = _run(tmp_path / "old", records("task", 100, 360, 10, reps=3, **MANIFEST)
                + records("task", 100, 200, 10, reps=3, **OLD, **MANIFEST),
                {**VERSIONS, "astronomer-cosmos": "1.14.2"})  # fmt: skip
    new = _run(tmp_path / "new", records("task", 100, 300, 10, reps=3, **MANIFEST)
               + records("task", 100, 200, 10, reps=3, **OLD, **MANIFEST), VERSIONS)  # fmt: skip
    (pair,) = pairs_across_runs(load_run(base), load_run(new))  # the 1.14.2 side env: no pair
    assert pair.differs == "astronomer-cosmos" and pair.verdicts["memory"] == IMPROVED
    assert (pair.base, pair.new) == ("1.14.2 (old)", "1.15.1 (new)")
    main(["compare", str(base), str(new), "--format", "markdown"])
    out = capsys.readouterr().out
    assert "## What upgrading does" in out
    assert "| astronomer-cosmos | 1.14.2 (old) -> 1.15.1 (new) | task | 100 models |" in out
    main(["compare", str(base), str(new)])
    said = capsys.readouterr().out
    assert "astronomer-cosmos 1.14.2 (old) -> 1.15.1 (new)  task 100 models" in said
    # the same releases: no upgrade table
    same = _run(tmp_path / "same", records("task", 100, 300, 10, reps=3, **MANIFEST), VERSIONS)
    assert pairs_across_runs(load_run(new), load_run(same)) == []
    main(["compare", str(new), str(same), "--format", "markdown"])
    assert "What upgrading does" not in capsys.readouterr().out


def test_the_section_lays_out_releases_first_and_settings_apart() -> None:
    releases = _pairs(_injected())
    assert upgrade_section([]) is None
    section = upgrade_section(releases)
    assert section is not None and section.tables
    first_row = section.tables[0].rows[0]
    text = " ".join(" ".join(c.lines) for c in first_row)
    # the largest change (the task's peak, -17%) heads the table
    assert "task" in text and "1.14.2" in text
