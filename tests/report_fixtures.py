"""Fixtures the report's tests share: records of constructed runs shaped exactly as the
runner records them (ids and axes from harness.scenarios), run folders holding them, and
readers of the tables the report writes (markdown and HTML) and of the HTML in headless
Chromium. A helper module, not a test module: tests import it, not each other."""

from __future__ import annotations

import dataclasses
import html as htmllib
import math
import random
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from harness import guide
from harness.compare.format import MIB
from harness.compare.samples import group_scenarios
from harness.measure.result import MeasureResult
from harness.registry import AXES, PHASES
from harness.report import write_report
from harness.scenarios.model import ProjectSpec, Scenario
from harness.store.jsonl import ResultsWriter
from harness.store.record import Record
from harness.store.runinfo import write_run_info

DATA = Path(__file__).parent / "data"


RECORDED = DATA / "recorded-smoke"


CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def records(
    phase: str, models: int | None, mem_mib: float, wall_s: float, reps: int = 5,
    slots: float | None = None, status: str = "ok", seed: int = 0,
    evidence: dict[str, Any] | None = None, **axes: Any,
) -> list[Record]:
    """Repetitions of one scenario, its id and axes made as the runner makes them."""
    values = tuple((name, axes.get(name, AXES[name].default)) for name in AXES)
    scenario = Scenario(ProjectSpec(models=models or 10, shape="layered"), values)
    rec_axes: dict[str, Any] = dict(scenario.effective(phase))
    sid = scenario.scenario_id(phase)
    if PHASES[phase].needs_project:
        rec_axes["project"] = scenario.project.to_dict()
        rec_axes["models"] = scenario.project.models
    if phase == "task":
        rec_axes["task_role"] = "root"
        sid += "/task=root"
    rng = random.Random(f"{sid}-{seed}")
    out = []
    for rep in range(reps):
        j = 1 + rng.uniform(-0.02, 0.02)
        measure = MeasureResult(
            "cgroup1",
            "ok",
            0,
            wall_s * j,
            wall_s * 0.7,
            wall_s * 0.1,
            int(mem_mib * j * MIB),
            int(mem_mib * 0.8 * MIB),
            3,
        )
        figures = {"task_slot_seconds": slots * j} if slots is not None else {}
        figures.update(evidence or {})
        out.append(Record("r", sid, phase, rec_axes, rep, status,  # type: ignore[arg-type]
                          None if status == "ok" else "boom", measure, figures))
    return out


# What the option's side must show for the pair to count (harness.guide.evidence).
PP_USED = {"dbt": {"partial_parse_used": True, "partial_parse_runs": [1, 1]}}
# ... and what its twin must show (dbt parsed in full).
PP_OFF = {"dbt": {"partial_parse_used": False, "partial_parse_runs": [0, 1],
                  "reason": "partial parsing not enabled"}}
DEBUG_PUSHED = {"cosmos_debug_max_memory_mb": {"model_run": 300.0}}
DEFERRED = {"deferred_tasks": ["model_run"]}


def scenarios_of(*groups: list[Record]) -> dict[str, Any]:
    """The records of ``groups`` grouped by scenario, as the report reads a run."""
    return group_scenarios([r for g in groups for r in g])


def rows_by_key(*groups: list[Record]) -> dict[str, guide.GuideRow]:
    """The memory guide's rows of ``groups``, by option key."""
    return {row.option.key: row for row in guide.evaluate(scenarios_of(*groups))}


def noisy(recs: list[Record], rng: random.Random, sd: float) -> list[Record]:
    """The records with their peaks redrawn: lognormal noise of ``sd`` around 300 MiB."""
    return [
        dataclasses.replace(r, measure=dataclasses.replace(
            r.measure, peak_tree_bytes=int(300 * MIB * math.exp(rng.gauss(0.0, sd)))))
        for r in recs if r.measure
    ]  # fmt: skip


def chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after load and the page's console messages (Chromium logs them to stderr)."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


INFO = {
    "run_id": "load",
    "machine": {"node": "vm", "cpu": "Test CPU", "cores_logical": 2, "memory_bytes": 8 << 30},
    "versions": {"astronomer-cosmos": "1.15.1"},
}


def write_run(tmp_path: Path, *groups: list[Record], name: str = "load") -> Path:
    """A run folder holding ``groups`` and a run.json with a 2-core machine."""
    run = tmp_path / name
    with ResultsWriter(run / "results.jsonl") as w:
        for r in (r for g in groups for r in g):
            w.append(r)
    write_run_info(run, {**INFO, "run_id": name})
    return run


def with_figures(recs: list[Record], **figures: Any) -> list[Record]:
    """The records with ``figures`` added (a callable value gets the record)."""
    return [
        dataclasses.replace(
            r,
            figures={
                **r.figures.to_dict(),
                **{k: v(r) if callable(v) else v for k, v in figures.items()},
            },
        )
        for r in recs
    ]


def md_rows(text: str, header_start: str) -> list[list[str]]:
    """The cells of the markdown table whose header row starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows


def first_number(cell: str) -> float:
    """The first number in a table cell (a median: the records carry a 2% jitter)."""
    found = re.search(r"-?\d+(?:\.\d+)?", cell)
    assert found, cell
    return float(found[0])


class _Tables(HTMLParser):
    """Every <table id=...>'s body rows: each cell's lines (split at <br>), tags dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.current: str | None = None
        self.row: list[list[str]] | None = None
        self.lines: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.current = a.get("id") or ""
            self.tables[self.current] = []
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.lines = [""]
        elif tag == "br" and self.lines is not None:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.row is not None and self.lines is not None:
            self.row.append([" ".join(line.split()) for line in self.lines if line.strip()])
            self.lines = None
        elif tag == "tr" and self.row is not None and self.current is not None:
            if self.row:
                self.tables[self.current].append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.lines is not None:
            self.lines[-1] += data


def html_table(page: str, table_id: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables[table_id]


def md_table(text: str, header_start: str) -> list[list[list[str]]]:
    """A markdown table's rows as the HTML parser gives them: cells of plain lines."""

    def plain(line: str) -> str:
        return htmllib.unescape(line.replace("**", "").replace("`", ""))

    return [
        [[plain(line) for line in c.split("<br>") if line] for c in row]
        for row in md_rows(text, header_start)
    ]


def both(tmp_path: Path, recs: list[Record]) -> tuple[str, str]:
    md, html = write_report(write_run(tmp_path, recs))
    return md.read_text(), html.read_text()
