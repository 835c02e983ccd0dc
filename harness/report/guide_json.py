"""The guide table as data: `harness report RUN --json` writes report.json beside
report.md, each guide row with its verdict, where it holds and what qualifies it, and
per size the verdict and each metric's change (median ratio, interval, pairs), then
every pair with its repetitions, the evidence that the option acted, its failure and
margin, its tests; concurrency's cost per slot. The same rows the markdown and HTML
tables are rendered from (harness.report.guide.evaluate)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from harness.compare.runs import load_run
from harness.compare.samples import group_scenarios
from harness.report import guide
from harness.report.common import size_label, without_celery

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
                "metrics": {m: _plain(c) for m, c in cells.items() if c is not None},
            }
            for size, cells in row.cells.items()
        ],
        "cost_per_slot": _plain(row.slot_costs),
        "pairs": [_pair(p) for p in row.pairs],
    }


def guide_data(run_dir: Path) -> dict[str, Any]:
    """The guide of a run folder as plain data (what report.json holds)."""
    run = load_run(run_dir)
    version = run.info.versions.get("astronomer-cosmos")
    rows = guide.evaluate(without_celery(group_scenarios(run.records)), version)
    return {
        "run_id": run.run_id,
        "cosmos": version,
        "min_effect": guide.MIN_EFFECT,
        "guide": [row_data(r) for r in rows],
    }


def write_guide_json(run_dir: Path, out: Path | None = None) -> Path:
    """Write report.json of the run ``run_dir`` into ``out`` (default: the run folder);
    returns its path."""
    path = Path(out or run_dir) / REPORT_JSON
    text = json.dumps(guide_data(run_dir), indent=1, default=str, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
