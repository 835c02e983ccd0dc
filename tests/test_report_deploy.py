"""harness report: one deployable configuration per size (harness.verdicts.deploy), the
recommendations with their conditions apart (harness.report.sections_recommend), and
report.json holding both. Hand-made records shaped as the runner records them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from report_fixtures import records, scenarios_of

from harness.cli import main
from harness.report import write_report
from harness.store.jsonl import ResultsWriter
from harness.store.record import Record
from harness.store.runinfo import write_run_info
from harness.verdicts.deploy import CONDITIONS, all_parse_facts, answer
from harness.verdicts.goal_picks import recommendation_data
from harness.verdicts.recommend import NOISE, UNTESTED

MANIFEST = {"load_mode": "DBT_MANIFEST"}


def _parse(mem: float, margin: float, tasks: int, reps: int = 3, **axes: Any) -> list[Record]:
    figures = {"limits": {"dagbag_import_timeout": 30.0}, "tasks": tasks,
               "timeout_margin": {"dagbag_import_timeout": margin}}  # fmt: skip
    return records("dag_parse", 100, mem, 30 - margin, reps=reps, evidence=figures, **axes)


def split_modes(watcher_task: bool = False, reps: int = 3) -> list[Record]:
    """The cheapest task is LOCAL's, the cheapest whole run WATCHER's."""
    out = [
        *records("task", 100, 290, 20, reps=reps, execution_mode="LOCAL",
                 partial_parse_state="cache_dir", **MANIFEST),
        *records("dag_run", 100, 600, 200, reps=reps, execution_mode="WATCHER", **MANIFEST),
        *records("dag_run", 100, 840, 360, reps=reps, execution_mode="LOCAL", **MANIFEST),
        *_parse(140, 26.0, 206, reps=reps, **MANIFEST),
        *_parse(225, 24.0, 206, reps=reps, load_mode="DBT_LS", cache="cold"),
    ]  # fmt: skip
    if watcher_task:
        out += records("task", 100, 380, 34, reps=reps, execution_mode="WATCHER", **MANIFEST)
    return out


def write_run(tmp_path: Path, recs: list[Record], name: str = "run-d") -> Path:
    run = tmp_path / name
    with ResultsWriter(run / "results.jsonl") as w:
        for r in recs:
            w.append(r)
    write_run_info(run, {"run_id": name})
    return run


def test_one_configuration_when_the_cheapest_task_and_run_differ_in_mode() -> None:
    (d,) = answer(scenarios_of(split_modes()))
    assert d.settings["execution_mode"] == "WATCHER"  # one mode, chosen on the whole run
    assert d.anchor == "dag_run" and d.deployment == "LocalExecutor"
    task = d.parts["task"]
    assert not task.together and task.differs == {"execution_mode": ("WATCHER", "LOCAL")}
    assert "one task: measured with execution_mode=LOCAL" in d.apart()
    # the parse of this configuration was measured with execution_mode=LOCAL as well
    assert d.parts["dag_parse"].differs == {"execution_mode": ("WATCHER", "LOCAL")}


def test_the_task_of_the_same_mode_is_used_when_measured() -> None:
    (d,) = answer(scenarios_of(split_modes(watcher_task=True)))
    task = d.parts["task"]
    assert task.together and task.candidate is not None
    assert task.settings["execution_mode"] == "WATCHER"
    assert task.candidate.memory > 300 * 1024 * 1024  # not the lighter LOCAL task
    assert d.apart() == ["DAG parse: measured with execution_mode=LOCAL"]


def test_the_markdown_answer_says_which_part_was_not_measured_together(tmp_path: Path) -> None:
    md, _ = write_report(write_run(tmp_path, split_modes()))
    text = md.read_text()
    start = text.index("## The answer")
    answer_part = text[start : text.index("\n## ", start + 1)]
    (row,) = [line for line in answer_part.splitlines() if line.startswith("| 100 models")]
    settings = row.split(" | ")[2]
    assert "execution_mode=WATCHER" in settings and "execution_mode=LOCAL" not in settings
    assert "one task: measured with execution_mode=LOCAL" in row
    assert "not measured together: this is with execution_mode=LOCAL" in row


def test_a_condition_is_never_a_setting(tmp_path: Path) -> None:
    scen = scenarios_of(split_modes(watcher_task=True))
    (d,) = answer(scen)
    assert not set(CONDITIONS) & set(d.settings)
    assert d.parts["task"].conditions == {} and d.parts["dag_parse"].conditions == {}
    for g in recommendation_data(scen):
        for c in (g.pick, *g.tied):
            assert c is not None and not set(CONDITIONS) & set(c.settings)
    (local,) = [g for g in recommendation_data(scen) if g.phase == "task"
                and g.pick and g.pick.settings["execution_mode"] == "LOCAL"]  # fmt: skip
    assert local.pick is not None and local.pick.conditions == {"partial_parse_state": "cache_dir"}
    md, _ = write_report(write_run(tmp_path, split_modes(watcher_task=True)))
    text = md.read_text()
    for line in text.splitlines():
        if line.startswith("| 100 models | LocalExecutor"):
            settings = line.split(" | ")[2]
            assert "partial_parse_state" not in settings and "cache=" not in settings
    assert "(partial_parse_state=cache_dir): 2" in text  # beside the figure, apart


def test_configurations_measured_once_are_untested_against_each_other(tmp_path: Path) -> None:
    once = [
        *records("dag_run", 100, 600, 200, reps=1, execution_mode="WATCHER", **MANIFEST),
        *records("dag_run", 100, 610, 210, reps=1, execution_mode="LOCAL", **MANIFEST),
    ]
    (d,) = answer(scenarios_of(once))
    assert d.tie == UNTESTED and len(d.tied) == 1
    (g,) = [g for g in recommendation_data(scenarios_of(once)) if "lowest peak memory" in g.goals]
    assert [c.tie for c in g.tied] == [UNTESTED]
    md, _ = write_report(write_run(tmp_path, once))
    text = md.read_text()
    assert "untested against each other" in text
    start = text.index("## The answer")
    assert "within the noise" not in text[start : text.index("\n## Recommendations")]
    # repeated, the same two are compared: within the noise
    twice = [
        *records("dag_run", 100, 600, 200, reps=3, execution_mode="WATCHER", **MANIFEST),
        *records("dag_run", 100, 605, 201, reps=3, execution_mode="LOCAL", **MANIFEST),
    ]
    (d,) = answer(scenarios_of(twice))
    assert d.tie == NOISE


def test_the_load_mode_weighs_fidelity_and_the_import_limit() -> None:
    parses = [
        *_parse(140, 26.0, 206, **MANIFEST),
        *_parse(100, 25.0, 103, load_mode="CUSTOM"),  # lighter, but not dbt's graph
        *_parse(90, 1.5, 206, load_mode="DBT_LS_FILE"),  # lighter still, near the limit
    ]
    (d,) = answer(scenarios_of(parses))
    assert d.settings["load_mode"] == "DBT_MANIFEST"
    facts = all_parse_facts([s for s in scenarios_of(parses).values()])
    (custom,) = [f for f in facts.values() if f.load_mode == "CUSTOM"]
    assert "rendered 103 tasks against DBT_MANIFEST's 206" in " ".join(custom.notes())
    (d,) = answer(scenarios_of([p for p in parses if p.axes["load_mode"] != "DBT_MANIFEST"]))
    assert d.settings["load_mode"] == "CUSTOM"  # clear of the limit beats near it
    facts_d = d.parts["dag_parse"].facts
    assert facts_d is not None and not facts_d.near
    (d,) = answer(scenarios_of([p for p in parses if p.axes["load_mode"] == "DBT_LS_FILE"]))
    facts_d = d.parts["dag_parse"].facts
    assert facts_d is not None and facts_d.near and "flagged" in facts_d.notes()[0]


def test_report_json_holds_the_answer_and_the_recommendations(
    tmp_path: Path, capsys: Any
) -> None:
    run = write_run(tmp_path, split_modes())
    assert main(["report", str(run), "--json"]) == 0
    assert capsys.readouterr().out.split()[-1] == str(run / "report.json")
    data = json.loads((run / "report.json").read_text())
    (a,) = data["answer"]
    assert a["label"] == "100 models" and a["settings"]["execution_mode"] == "WATCHER"
    assert a["not_measured_together"] == [
        "one task: measured with execution_mode=LOCAL",
        "DAG parse: measured with execution_mode=LOCAL",
    ]
    task = a["parts"]["one task"]
    assert task["conditions"] == {"partial_parse_state": "cache_dir"}
    assert task["differs"] == {"execution_mode": {"configuration": "WATCHER", "measured": "LOCAL"}}
    assert a["worker"] and "at concurrency 1" in a["worker"][0]
    phases = {g["phase"] for g in data["recommendations"]}
    assert phases == {"dag_run", "task"}
    (low,) = [g for g in data["recommendations"]
              if g["phase"] == "dag_run" and "lowest peak memory" in g["goals"]]  # fmt: skip
    assert low["pick"]["settings"]["execution_mode"] == "WATCHER"
    assert "partial_parse_state" not in low["pick"]["settings"]
    # the markdown's tables say the same
    md = (run / "report.md").read_text()
    assert a["settings_text"] in md
