"""Failures you can act on: which task failed (Airflow's metadata for the DAG run)
and dbt's own error line (from the measurement's log when the run folder kept it,
else from the recorded reason), without terminal colour codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.store.record import Record

REASON_CHARS = 300
"""The longest reason quoted when no dbt error line is found (its end: the last words)."""
NO_LOG = " (no dbt error line: the log was not kept with the run)"

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""Terminal control sequences (colours, cursor moves) as Airflow and dbt print them."""

DBT_ERROR = re.compile(
    r"(?:Database|Runtime|Compilation|Parsing|Dependency|Internal|Unhandled) Error\b"
    r"|Failure in (?:test|model|seed|snapshot)\b"
    r"|CosmosDbtRunError|dbt invocation (?:did not complete|completed with errors)"
)
"""What begins dbt's own account of an error (and Cosmos's wrapper of it)."""

FAILED_STATES = ("failed",)
SKIPPED_STATES = ("upstream_failed",)


def strip_ansi(text: str) -> str:
    """``text`` without terminal control sequences."""
    return ANSI.sub("", text)


def dbt_error_line(text: str) -> str | None:
    """dbt's first error line in ``text`` with the detail line under it, or None."""
    lines = [line.strip() for line in strip_ansi(text).splitlines()]
    for i, line in enumerate(lines):
        if m := DBT_ERROR.search(line):
            detail = next((x for x in lines[i + 1 : i + 3] if x), "")
            # Airflow prefixes each line with a timestamp and logger: quote from dbt's words
            quoted = line[m.start() :]
            return f"{quoted}: {detail}" if detail and not DBT_ERROR.search(detail) else quoted
    return None


@dataclass(frozen=True)
class Failure:
    """One failed repetition, as the report tells it."""

    scenario_id: str
    repetition: int
    status: str
    failed_tasks: tuple[str, ...]
    """Task ids Airflow recorded as failed (dag_run)."""
    skipped: int
    """Tasks that did not run because an upstream task failed."""
    error: str
    """dbt's error line, else the end of the recorded reason."""
    log: str


def _read_log(run_dir: Path, r: Record) -> str:
    rel = r.figs.log or ""
    path = run_dir / rel if rel else None
    if path is None or not path.is_file():
        return ""
    return path.read_text(encoding="utf-8", errors="replace")


def failure_of(run_dir: Path, r: Record) -> Failure:
    """What failed in ``r`` and dbt's words for it."""
    states = r.figs.task_states()
    reason = strip_ansi(r.reason or "").strip()
    error = dbt_error_line(_read_log(run_dir, r)) or dbt_error_line(reason)
    if error is None:
        error = reason if len(reason) <= REASON_CHARS else "..." + reason[-REASON_CHARS:]
        if states and not _read_log(run_dir, r):
            error += NO_LOG
    return Failure(
        r.scenario_id,
        r.repetition,
        r.status,
        tuple(sorted(t for t, s in states.items() if s in FAILED_STATES)),
        sum(1 for s in states.values() if s in SKIPPED_STATES),
        error,
        r.figs.log or "",
    )


def failures(run_dir: Path, records: list[Record]) -> list[Failure]:
    """Every repetition that did not succeed, in the run's order."""
    return [failure_of(run_dir, r) for r in records if r.status != "ok"]
