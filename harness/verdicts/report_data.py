"""The report's data, computed once per report: the answer (one configuration per
size, harness.verdicts.deploy), the guide's rows (harness.guide.rows) and the
recommendations (harness.verdicts.goal_picks). The markdown and HTML sections
are rendered from it, and report.json (harness.report.guide_json) holds it as plain
data, so the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness import guide
from harness.compare.configs import size_label, without_celery
from harness.compare.format import MIB
from harness.compare.runs import RunData
from harness.compare.samples import ScenarioSamples
from harness.compare.upgrade import UpgradePair, pairs_in_run
from harness.verdicts.deploy import (
    PHASE_NAMES,
    Deployable,
    ParseFacts,
    Part,
    answer,
    settings_text,
)
from harness.verdicts.goal_picks import GoalPick, recommendation_data
from harness.verdicts.worker_fit import worker_lines


@dataclass(frozen=True)
class ReportData:
    """What the report says, before it is laid out."""

    answer: list[Deployable]
    guide: list[guide.GuideRow]
    recommendations: list[GoalPick]
    workers: dict[int | str | None, list[str]]
    """size -> the answer's worker lines (the whole run's fitted peak)."""
    upgrade: list[UpgradePair] = field(default_factory=list)
    """Scenarios that differ only in a release or a Cosmos setting (harness.compare.upgrade)."""


def report_data(run: RunData, scenarios: dict[str, ScenarioSamples]) -> ReportData:
    """The data of ``run``'s report (``scenarios``: its records grouped)."""
    local = without_celery(scenarios)
    deployables = answer(scenarios)
    return ReportData(
        deployables,
        # every run: the guide judges Celery runs on their workers (harness.guide.workers)
        guide.evaluate(scenarios, run.info.versions.get("astronomer-cosmos")),
        recommendation_data(local),
        {d.size: worker_lines(local, d.parts.get("dag_run"), d.size) for d in deployables},
        pairs_in_run(scenarios, run.info.versions),
    )


def _part(part: Part) -> dict[str, Any]:
    c = part.candidate
    facts = part.facts
    return {
        "measured": c is not None,
        "together": part.together,
        "settings": part.settings,
        "conditions": part.conditions,
        "differs": {
            k: {"configuration": want, "measured": have} for k, (want, have) in part.differs.items()
        },
        "memory_mib": c.memory / MIB if c else None,
        "max_memory_mib": c.max_memory / MIB if c else None,
        "time_s": c.time if c else None,
        "repetitions": len(c.values.get("memory", ())) if c else 0,
        "scenario_ids": list(c.scenario_ids) if c else [],
        "under_other_conditions": [
            {"conditions": w, "memory_mib": m / MIB} for w, m in part.under
        ],
        "parse": None if facts is None else _facts(facts),
    }


def _facts(facts: ParseFacts) -> dict[str, Any]:
    return {
        "load_mode": facts.load_mode,
        "margin_s": facts.margin_s,
        "limit_s": facts.limit_s,
        "near_limit": facts.near,
        "tasks": facts.tasks,
        "manifest_tasks": facts.manifest_tasks,
        "notes": facts.notes(),
    }


def answer_data(data: ReportData) -> list[dict[str, Any]]:
    """The answer (the report's first screen) as plain data, one entry per size."""
    return [
        {
            "size": d.size,
            "label": size_label(d.size),
            "deployment": d.deployment,
            "settings": d.settings,
            "settings_text": settings_text(d.settings),
            "chosen_on": PHASE_NAMES[d.anchor],
            "tied": list(d.tied),
            "tie": d.tie,
            "not_measured_together": d.apart(),
            "parts": {PHASE_NAMES[p]: _part(part) for p, part in d.parts.items()},
            "worker": data.workers.get(d.size, []),
        }
        for d in data.answer
    ]
