"""harness report RUN RUN... --out DIR: one report of several runs, on the committed
runs of results/baselines. Where a scenario was measured in more than one run, the
report uses harness.store.current's choice and names the superseded records; the
refusals (no --out, --out inside a run, ...) are one line and exit 2."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.compare.runs import load_run
from harness.report.render import build_report, write_runs_report
from harness.report.runs import choose, combined_run
from harness.report.view import Report, Section

BASELINES = Path(__file__).resolve().parents[1] / "results" / "baselines"
OLD, NEW = "workers-20261202", "workers-20261202e"
MIN_WORKER_WATCHER_1 = (
    "min_worker/layered-100-s0/load_mode=DBT_MANIFEST/partial_parse=on/"
    "enable_mock_profile=off/execution_mode=WATCHER/memory_optimised_imports=off/"
    "execution_invocation=DBT_RUNNER/debug_mode=off/concurrency=4/executor=celery/"
    "worker_concurrency=1/celery_workers=1"
)
SUPERSEDED_FIGURE = re.compile(r"\b846\b")
"""OLD's smallest worker for that scenario; NEW measured 484 MiB."""


def report_cli(*args: str) -> int:
    return main(["report", *args, "--results-dir", str(BASELINES)])


@pytest.fixture(scope="module")
def combined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of OLD and NEW, written by the command."""
    out = tmp_path_factory.mktemp("report") / "workers"
    assert report_cli(OLD, NEW, "--out", str(out)) == 0
    return out


def _section(report: Report, section_id: str) -> Section:
    return next(s for top in report.sections for s in top.walk() if s.id == section_id)


def test_the_report_of_two_runs_is_written_apart_from_them(combined: Path, capsys: Any) -> None:
    assert sorted(p.name for p in combined.iterdir()) == [
        "report.html",
        "report.md",
        "report_files",
    ]
    for run in (OLD, NEW):  # the runs' own reports are not touched
        assert "Runs and superseded records" not in (BASELINES / run / "report.md").read_text()
    md = (combined / "report.md").read_text()
    assert md.startswith(f"# Cosmos memory harness: {OLD} + {NEW}\n")
    html = (combined / "report.html").read_text()
    for section_id in ("runs-section", "superseded-section", "environment-section"):
        assert f'id="{section_id}"' in html


def test_the_superseded_bisection_is_named_with_its_successor_and_why(combined: Path) -> None:
    md = (combined / "report.md").read_text()
    runs_part = md.split("## Runs and superseded records", 1)[1].split("\n## ", 1)[0]
    [row] = [line for line in runs_part.splitlines() if MIN_WORKER_WATCHER_1 in line]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == f"`{OLD}`"
    assert cells[2:5] == ["846 MiB", f"`{NEW}`", "**484 MiB**"]
    assert cells[5].startswith("not reproduced")
    # the superseded figure is in the runs section only
    elsewhere = md.replace(runs_part, "")
    assert not SUPERSEDED_FIGURE.search(elsewhere)
    assert "484 MiB" in elsewhere


def test_no_table_but_the_superseded_one_shows_the_superseded_record() -> None:
    sources = choose([load_run(BASELINES / OLD), load_run(BASELINES / NEW)])
    assert [r.run_id for r in sources.runs] == [OLD, NEW]
    report = build_report(combined_run(sources, Path("unused")), None, sources)
    superseded = _section(report, "superseded-section")
    assert [s.scenario_id for s in sources.current.superseded] == [MIN_WORKER_WATCHER_1]
    shown = []
    for top in report.sections:
        for s in top.walk():
            for table in s.tables:
                text = " ".join(c.text for row in table.rows for c in row)
                if SUPERSEDED_FIGURE.search(text):
                    shown.append(s.id)
    assert shown == [superseded.id]
    # the smallest-worker tables of the Celery section use NEW's 484 MiB
    celery = _section(report, "celery-section")
    texts = [c.text for t in celery.tables for row in t.rows for c in row]
    assert any("484 MiB" in t for t in texts)
    # OLD's records of the scenario are not among those used; NEW's are
    used = {(r.run_id, r.scenario_id) for r in sources.current.records}
    assert (NEW, MIN_WORKER_WATCHER_1) in used and (OLD, MIN_WORKER_WATCHER_1) not in used


def test_the_environment_is_each_runs_own() -> None:
    sources = choose([load_run(BASELINES / NEW), load_run(BASELINES / OLD)])
    report = build_report(combined_run(sources, Path("unused")), None, sources)
    env = _section(report, "environment-section")
    assert list(env.tables[0].header) == ["", OLD, NEW]
    rows = {row[0].text: [c.text for c in row[1:]] for row in env.tables[0].rows}
    assert rows["state"] == ["interrupted", "finished"]
    assert rows["harness commit"][0] != rows["harness commit"][1]


def _copy_run(src: Path, dest: Path, run_id: str, started_at: str) -> Path:
    """``src`` as another run: its run id and start changed, its records the same."""
    shutil.copytree(src, dest / run_id, ignore=shutil.ignore_patterns("report*"))
    info = json.loads((dest / run_id / "run.json").read_text())
    info.update(run_id=run_id, started_at=started_at)
    (dest / run_id / "run.json").write_text(json.dumps(info))
    lines = (dest / run_id / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) | {"run_id": run_id} for line in lines if line.strip()]
    (dest / run_id / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return dest / run_id


def test_a_run_measured_again_with_the_same_figures_is_pooled(tmp_path: Path) -> None:
    again = _copy_run(BASELINES / NEW, tmp_path, "again", "2026-12-04T00:00:00+00:00")
    md, html = write_runs_report([BASELINES / NEW, again], tmp_path / "out")
    text = md.read_text()
    assert "### Scenarios pooled across runs" in text and "No record is superseded." in text
    pooled = text.split("### Scenarios pooled across runs", 1)[1].split("\n## ", 1)[0]
    assert f"`{MIN_WORKER_WATCHER_1}` | 2 | {NEW}: 484 MiB<br>again: 484 MiB" in pooled
    assert 'id="pooled-section"' in html.read_text()


def test_one_run_with_out_is_its_own_report_without_the_runs_section(tmp_path: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in (BASELINES / NEW).iterdir()}
    assert report_cli(NEW, "--out", str(tmp_path / "one")) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (BASELINES / NEW).iterdir()} == before
    md = (tmp_path / "one" / "report.md").read_text()
    assert "Runs and superseded records" not in md
    # the same report as written into the run folder (here a copy of it)
    copy = _copy_run(BASELINES / NEW, tmp_path, NEW, "2026-12-02T21:10:33+00:00")
    assert report_cli(str(copy)) == 0
    assert md == (copy / "report.md").read_text()


def _refused(capsys: Any, *args: str) -> str:
    assert report_cli(*args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness report: error: ")
    return err


def test_several_runs_need_out(capsys: Any) -> None:
    assert "--out" in _refused(capsys, OLD, NEW)


def test_out_inside_a_source_run_is_refused(tmp_path: Path, capsys: Any) -> None:
    runs = tmp_path / "runs"
    old = _copy_run(BASELINES / OLD, runs, OLD, "2026-12-02T08:02:27+00:00")
    new = _copy_run(BASELINES / NEW, runs, NEW, "2026-12-02T21:10:33+00:00")
    for out in (old, old / "combined", new / "report_files"):
        assert "inside the run" in _refused(capsys, str(old), str(new), "--out", str(out))
    assert not (old / "combined").exists() and not (old / "report.md").exists()


def test_out_must_have_its_parent_and_hold_only_a_report(tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "no" / "such"
    assert "no folder" in _refused(capsys, OLD, NEW, "--out", str(missing))
    assert not missing.parent.exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert "notes.txt" in _refused(capsys, OLD, NEW, "--out", str(busy))
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert "not a folder" in _refused(capsys, OLD, NEW, "--out", str(a_file))
    # a folder holding an earlier report is written again
    again = tmp_path / "again"
    assert report_cli(OLD, NEW, "--out", str(again)) == 0
    assert report_cli(OLD, NEW, "--out", str(again)) == 0


def test_a_run_given_twice_is_refused(tmp_path: Path, capsys: Any) -> None:
    assert "more than once" in _refused(capsys, OLD, OLD, "--out", str(tmp_path / "x"))
