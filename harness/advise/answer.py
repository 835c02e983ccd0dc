"""The short answer of `harness advise`, read from the run's stored records.

Every figure in it is a measured one of this run, except a worker size the plan did not
measure (--executor), which comes from the sizing model and says so; what was not
measured is said so, never guessed. It is written as answer.md (for reading) and
answer.json (for tools).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.store.jsonl import RESULTS_FILE, latest, read_records
from harness.store.record import Record

MIB = 1024 * 1024
AXES_SHOWN = ("load_mode", "execution_mode", "execution_invocation", "concurrency")
DAGBAG_IMPORT_TIMEOUT_S = 30.0
"""Airflow's [core] dagbag_import_timeout default: a DAG file parsing longer is dropped."""


def _row(r: Record) -> dict[str, Any]:
    m = r.measure
    return {
        "scenario_id": r.scenario_id,
        "status": r.status,
        "peak_mib": round(m.peak_tree_bytes / MIB, 1) if m else None,
        "wall_s": round(m.wall_s, 1) if m else None,
        "reason": r.reason,
        **{k: r.axes.get(k) for k in AXES_SHOWN},
    }


@dataclass
class Answer:
    """What the run measured, grouped as the answer needs it."""

    parses: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    dag_runs: list[dict[str, Any]] = field(default_factory=list)
    min_worker: dict[str, Any] | None = None
    unmeasured: list[str] = field(default_factory=list)
    interrupted: bool = False
    worker: list[dict[str, Any]] = field(default_factory=list)
    """The worker asked for (--executor), each deployment's size (harness.advise.sizing)."""
    worker_md: list[str] = field(default_factory=list)

    def best_parse(self) -> dict[str, Any] | None:
        """The load mode whose parse peaked lowest."""
        ok = [p for p in self.parses if p["status"] == "ok"]
        return min(ok, key=lambda p: p["peak_mib"]) if ok else None

    def best_run(self, worker_mib: int | None) -> dict[str, Any] | None:
        """The fastest successful DAG run whose worker peak fits ``worker_mib`` (if given)."""
        ok = [r for r in self.dag_runs if r["status"] == "ok"]
        if worker_mib:
            ok = [r for r in ok if r["peak_mib"] <= worker_mib]
        return min(ok, key=lambda r: (r["wall_s"], r["peak_mib"])) if ok else None


def read_answer(run_dir: Path, left_out: list[str], interrupted: bool) -> Answer:
    """The measured rows of ``run_dir``'s records."""
    ans = Answer(unmeasured=list(left_out), interrupted=interrupted)
    path = run_dir / RESULTS_FILE
    for r in latest(read_records(path)) if path.exists() else []:
        row = _row(r)
        if r.phase == "dag_parse":
            row["parse_s"] = r.figs.parse_s
            ans.parses.append(row)
        elif r.phase == "task":
            ans.tasks.append(row)
        elif r.phase == "dag_run":
            ans.dag_runs.append(row)
        elif r.phase == "min_worker" and r.status == "ok":
            ans.min_worker = {**row, "min_limit_mib": r.figs.min_limit_mib}
    return ans


def render(ans: Answer, project: Path, worker_mib: int | None) -> str:
    """The short answer, as markdown."""
    out = [f"# Cosmos settings for {project}", ""]
    if ans.interrupted:
        out += ["**Interrupted: a partial answer from what was measured.**", ""]
    parse, run = ans.best_parse(), ans.best_run(worker_mib)
    out.append("## Settings to use")
    if parse:
        out.append(f"- load mode: `{parse['load_mode']}` (parse peak {parse['peak_mib']} MiB)")
    if run:
        out.append(f"- execution mode: `{run['execution_mode']}` at concurrency "
                   f"{run['concurrency']} (worker peak {run['peak_mib']} MiB, "
                   f"whole DAG {run['wall_s']} s)")  # fmt: skip
    if not parse and not run:
        out.append("- nothing measured successfully: see the failures below")
    if worker_mib and not run and ans.dag_runs:
        out.append(f"- no DAG run measured fits a {worker_mib} MiB worker")
    out += ["", *ans.worker_md] if ans.worker_md else []
    out += ["", "## Parse (the DAG processor)"]
    for p in ans.parses:
        out.append(_line(p, p["load_mode"]) + _timeout(p))
    out += ["", "## One task (a worker runs it)"]
    for t in ans.tasks:
        out.append(_line(t, f"{t['execution_mode']} {t['execution_invocation']}"))
    out += ["", "## Whole DAG (worker peak at concurrency c)"]
    for r in ans.dag_runs:
        out.append(_line(r, f"{r['execution_mode']} c={r['concurrency']}"))
    out += ["", "## Smallest worker"]
    if ans.min_worker:
        mw = ans.min_worker
        out.append(f"- {mw['execution_mode']} c={mw['concurrency']}: "
                   f"{mw['min_limit_mib']} MiB")  # fmt: skip
    else:
        out.append("- not measured")
    out += ["", "## Left unmeasured by the budget"]
    out += [f"- {s}" for s in ans.unmeasured] or ["- nothing"]
    return "\n".join(out) + "\n"


def _line(row: dict[str, Any], what: str) -> str:
    if row["status"] != "ok":
        return f"- {what}: {row['status']}: {(row['reason'] or '')[:200]}"
    return f"- {what}: peak {row['peak_mib']} MiB, {row['wall_s']} s"


def _timeout(p: dict[str, Any]) -> str:
    s = p.get("parse_s")
    if p["status"] != "ok" or s is None:
        return ""
    share = s / DAGBAG_IMPORT_TIMEOUT_S
    verdict = "over it: Airflow drops the DAG" if share > 1 else f"{share:.0%} of it"
    return f"; DagBag parse {s:.1f} s against dagbag_import_timeout 30 s ({verdict})"


def write_answer(run_dir: Path, ans: Answer, project: Path, worker_mib: int | None) -> Path:
    """answer.md and answer.json in ``run_dir``; returns the markdown's path."""
    md = run_dir / "answer.md"
    md.write_text(render(ans, project, worker_mib))
    data = {k: v for k, v in ans.__dict__.items() if k != "worker_md"}
    data |= {"best_parse": ans.best_parse(), "best_run": ans.best_run(worker_mib)}
    (run_dir / "answer.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    return md
