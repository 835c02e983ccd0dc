"""Unit tests of the report's layout modules (harness.report) and the history's command,
each on a small fixture built in code (report_fixtures): the command's refusals, report.json,
the markdown and HTML renderers of a section, and the sections of recommendations, several
runs and sizing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from report_fixtures import records, write_run

from harness.compare.runs import load_run
from harness.compare.samples import group_scenarios
from harness.errors import UsageError
from harness.history import cli as history_cli
from harness.report import (
    cli,
    guide_json,
    render_html,
    render_md,
    sections_recommend,
    sections_runs,
    sections_sizing,
)
from harness.report.view import Report, Section, Table, cell
from harness.verdicts.goal_picks import recommendation_data

MANIFEST = {"load_mode": "DBT_MANIFEST"}


def _args(add: object, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add(parser)  # type: ignore[operator]
    return parser.parse_args(argv)


def test_the_report_command_refuses_several_runs_without_out(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="several runs need --out DIR"):
        cli.run(_args(cli.add_arguments, ["a", "b"]))
    with pytest.raises(UsageError, match="--json takes one run"):
        cli.run(_args(cli.add_arguments, ["a", "b", "--out", str(tmp_path), "--json"]))


def test_the_report_command_writes_the_report_and_its_json(tmp_path: Path, capsys: object) -> None:
    run = write_run(tmp_path, records("dag_run", 10, 300, 30, **MANIFEST))
    assert cli.run(_args(cli.add_arguments, [str(run), "--json"])) == 0
    assert {p.name for p in run.iterdir()} >= {"report.md", "report.html", "report.json"}


def test_report_json_holds_the_answer_and_the_guide(tmp_path: Path) -> None:
    run = write_run(tmp_path, records("dag_run", 10, 300, 30, **MANIFEST))
    path = guide_json.write_guide_json(run)
    data = json.loads(path.read_text())
    assert data == guide_json.guide_data(run) | {"recommendations": data["recommendations"]}
    assert (data["run_id"], data["cosmos"], data["min_effect"]) == ("load", "1.15.1", 0.05)
    assert [a["label"] for a in data["answer"]] == ["10 models"]
    # one configuration: no option has a pair, whatever its verdict
    assert len(data["guide"]) == 7 and all(row["pairs"] == [] for row in data["guide"])


def _report() -> Report:
    table = Table(["size", "peak"], id="t")
    table.add("10 models", cell("300 MiB", strong=True))
    table.add(cell(["a", "b"]), cell("x|y", code=True))
    section = Section("Peaks", id="peaks", intro=["Peak of `dag_run`, **median**."],
                      tables=[table], notes=["*n=5*"], collapsed=True)  # fmt: skip
    return Report("Title", ["One line."], [section])


def test_markdown_lays_out_a_section_and_its_table() -> None:
    md = render_md.render_markdown(_report(), "files")
    assert "## Peaks" in md and "Peak of `dag_run`, **median**." in md
    assert "| size | peak |" in md
    assert "| 10 models | **300 MiB** |" in md
    assert "| a<br>b | `x\\|y` |" in md


def test_html_lays_out_the_same_section_self_contained() -> None:
    page = render_html.render_html(_report())
    assert '<details id="peaks"' in page or 'id="peaks"' in page
    assert "<code>dag_run</code>" in page and "<strong>median</strong>" in page
    assert "<strong>300 MiB</strong>" in page and "<script" not in page
    assert str(render_html.inline("a < `b`")) == "a &lt; <code>b</code>"


def test_the_recommendations_section_tabulates_each_phases_picks() -> None:
    recs = records("dag_run", 10, 300, 60, execution_mode="LOCAL", **MANIFEST)
    recs += records("dag_run", 10, 600, 20, execution_mode="WATCHER", **MANIFEST)
    section = sections_recommend.recommendations_section(
        recommendation_data(group_scenarios(recs))
    )
    (child,) = section.children
    assert child.title == "dag_run: whole DAG run"
    goals = [row[2].text for row in child.tables[0].rows]
    assert goals[0] == "lowest peak memory" and goals[1].startswith("fastest; fastest within")
    assert sections_recommend.recommendations_section([]).intro == [
        "No successful task or dag_run measurement in this run."
    ]


def test_the_runs_section_names_each_source_run_and_what_it_gave(tmp_path: Path) -> None:
    from harness.report.runs import choose

    old = write_run(tmp_path, records("dag_run", 10, 300, 30, reps=2, **MANIFEST), name="old")
    new = write_run(tmp_path, records("dag_run", 10, 310, 30, reps=3, **MANIFEST), name="new")
    sources = choose([load_run(old), load_run(new)])
    section = sections_runs.runs_section(sources)
    runs = section.tables[0]
    assert [(row[0].text, row[5].text) for row in runs.rows] == [("old", "2"), ("new", "3")]
    # one scenario in both, measured alike: its records are pooled across the runs
    assert [row[6].text for row in runs.rows] == ["2", "3"]
    assert sections_runs.scenarios_text(1) == "1 scenario"


def test_the_sizing_section_shows_the_measured_worker_and_leaves_out_no_deployment() -> None:
    assert sections_sizing.sizing_section(records("import", None, 100, 3)) is None
    recs = records("dag_run", 10, 300, 30, concurrency=4, **MANIFEST)
    section = sections_sizing.sizing_section(recs)
    assert section is not None and section.id == "sizing"
    rows = {(r[0].text, r[1].text, r[2].text): r for r in section.tables[0].rows}
    measured = rows[("LocalExecutor worker", "LOCAL", "4")]
    assert measured[3].text.isdigit()  # measured at 10 models: no "(x)" of a prediction
    assert rows[("Celery worker", "LOCAL", "1")][3].text == "-"


def test_the_history_command_refuses_an_output_inside_a_run(tmp_path: Path) -> None:
    run = write_run(tmp_path, records("import", None, 100, 3))
    with pytest.raises(UsageError):
        history_cli.run(_args(history_cli.add_arguments, [str(run), "--out", str(run / "h")]))
