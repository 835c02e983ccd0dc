"""The report as data: `harness report RUN --json` writes report.json beside report.md:
the answer (per size one configuration: its settings, each phase's peak under it with
the conditions apart, what was not measured together, the worker), each guide row with
its verdict, where it holds and what qualifies it, and per size the verdict and each
metric's change (median ratio, interval, pairs), then every pair with its repetitions,
the evidence that the option acted, its failure and margin, its tests; concurrency's
cost per slot; and the recommendations (per phase and size, the goals a configuration
answers, its settings and conditions, and those it cannot be told from). The same data
the markdown and HTML are rendered from (harness.verdicts.report_data.ReportData)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from harness import guide
from harness.compare.configs import size_label
from harness.compare.runs import load_run
from harness.compare.samples import group_scenarios
from harness.verdicts.report_data import answer_data, report_data

REPORT_JSON = "report.json"


def _plain(obj: Any) -> Any:
    """Dataclasses as dicts, with float('inf')/nan as None (JSON has neither)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if (isinstance(obj, float) and obj != obj) or obj in (float("inf"), float("-inf")):
        return None
    return obj


def _pair(p: guide.Pair) -> dict[str, Any]:
    return {
        "contrast": p.contrast,
        "phase": p.phase,
        "place": p.place or p.phase,
        "metrics": list(p.metrics) or None,
        "size": p.size,
        "with": p.with_value,
        "without": p.without_value,
        "with_id": p.with_id,
        "without_id": p.without_id,
        "repetitions": {"with": p.repetitions[0], "without": p.repetitions[1]},
        "acted": p.acted,
        "evidence": p.acted_reason,
        "failure": p.failure,
        "failed": p.failed or None,
        "margin": p.margin,
        "changes": _plain(p.changes),
        "equivalence": _plain(p.equivalence),
    }


def row_data(row: guide.GuideRow) -> dict[str, Any]:
    """One guide row as plain data."""
    o = row.option
    return {
        "number": o.number,
        "option": o.key,
        "title": o.title,
        "guide": {"impact": o.impact, "claim": o.claim, "metrics": list(o.metrics)},
        "verdict": row.verdict,
        "where": row.where or None,
        "reason": row.reason,
        "notes": list(row.notes),
        "sizes": [
            {
                "size": size,
                "label": size_label(size),
                "verdict": row.size_verdicts.get(size),
                "metrics": {m: _plain(c) for m, c in changes.items() if c is not None},
            }
            for size, changes in row.over_pairs.items()
        ],
        "cost_per_slot": _plain(row.slot_costs),
        "pairs": [_pair(p) for p in row.pairs],
    }


def guide_data(run_dir: Path) -> dict[str, Any]:
    """The report of a run folder as plain data (what report.json holds): the answer,
    the guide's rows and the recommendations, from the same ReportData the markdown and
    HTML are rendered from (harness.verdicts.report_data)."""
    run = load_run(run_dir)
    data = report_data(run, group_scenarios(run.records))
    return {
        "run_id": run.run_id,
        "cosmos": run.info.versions.get("astronomer-cosmos"),
        "min_effect": guide.MIN_EFFECT,
        "answer": answer_data(data),
        "guide": [row_data(r) for r in data.guide],
        "recommendations": [_plain(g) for g in data.recommendations],
        "upgrade": [_plain(p) for p in data.upgrade],  # harness.compare.upgrade's pairs
    }


def write_guide_json(run_dir: Path, out: Path | None = None) -> Path:
    """Write report.json of the run ``run_dir`` into ``out`` (default: the run folder);
    returns its path."""
    path = Path(out or run_dir) / REPORT_JSON
    text = json.dumps(guide_data(run_dir), indent=1, default=str, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
