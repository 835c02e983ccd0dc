"""Several runs read into one report: the records harness.store.current chooses across
them, a run-level info that names every source run, and the checks of the folder the
report of several runs is written to (never one of the runs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.compare.runs import RunData, current_of
from harness.errors import UsageError
from harness.store.current import Current
from harness.store.record import Record
from harness.store.runinfo import Machine, RunInfo, Source
from harness.store.typed import to_plain
from harness.verdicts.failures import Failure, failure_of

REPORT_WRITES = ("report.md", "report.html", "report_files")
"""What a report writes into its folder: a folder holding anything else is refused."""
SOURCE_KEYS = ("run_id", "started_at", "finished_at", "state", "machine", "versions", "commit")
"""The run-level facts of each source run the combined info keeps (RunInfo's fields)."""
_MACHINE_FIELDS = {f.name for f in fields(Machine)} - {"runner", "extra"}


@dataclass(frozen=True)
class Sources:
    """The runs a report reads, ordered by start, and the records chosen across them."""

    runs: list[RunData]
    current: Current
    origin: dict[int, RunData] = field(default_factory=dict)
    """id() of every record of every run -> the run it was read from."""

    def run_of(self, r: Record) -> RunData:
        """The source run ``r`` was read from."""
        return self.origin[id(r)]


def started_at(run: RunData) -> str:
    """run.json's started_at ('' when absent: such a run counts as the oldest)."""
    return run.info.started_at or ""


def choose(runs: Sequence[RunData]) -> Sources:
    """The runs ordered by started_at and the records current_records uses across them;
    a run given twice is bad input."""
    ids = [r.run_id for r in runs]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise UsageError(f"run given more than once: {', '.join(twice)}")
    ordered = sorted(runs, key=started_at)
    current = current_of(ordered)
    origin = {id(rec): run for run in ordered for rec in run.records}
    return Sources(ordered, current, origin)


def agreed(values: dict[str, Any]) -> Any:
    """The value every run agrees on, else each value with the run ids that had it."""
    groups: dict[str, tuple[Any, list[str]]] = {}
    for run_id, value in values.items():
        groups.setdefault(repr(value), (value, []))[1].append(run_id)
    if len(groups) == 1:
        return next(iter(values.values()))
    return "; ".join(
        f"{value if value is not None else '?'} ({', '.join(ids)})"
        for value, ids in groups.values()
    )


def _agreed_dict(dicts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys = sorted({k for d in dicts.values() for k in d if not isinstance(d[k], dict)})
    return {k: agreed({run_id: d.get(k) for run_id, d in dicts.items()}) for k in keys}


def combined_info(runs: Sequence[RunData]) -> RunInfo:
    """A run.json for the report of several runs: every source run's run-level facts
    (``sources``), and the machine and versions where every run agrees, else each run's
    value named by its run id (so the sections that quote them say which run it was)."""
    machines = {r.run_id: to_plain(r.info.machine) or {} for r in runs}
    machine = {k: v for k, v in _agreed_dict(machines).items() if k in _MACHINE_FIELDS}
    return RunInfo(
        run_id=" + ".join(r.run_id for r in runs),
        started_at=started_at(runs[0]) if runs else "",
        sources=[
            Source(**{k: getattr(r.info, k) for k in SOURCE_KEYS} | {"run_id": r.run_id})
            for r in runs
        ],
        machine=Machine(**machine),  # a value the runs disagree on is text naming each
        versions=_agreed_dict({r.run_id: dict(r.info.versions) for r in runs}),
        backend=agreed({r.run_id: r.info.backend for r in runs}),
    )


def combined_run(sources: Sources, out: Path) -> RunData:
    """The runs as one: the records chosen across them, the combined info, and the
    report's folder as its path."""
    return RunData(out, combined_info(sources.runs), list(sources.current.records))


def combined_failures(sources: Sources) -> list[Failure]:
    """Every failed repetition used, its log read in its own run's folder and named
    with that run's id."""
    out = []
    for r in sources.current.records:
        if r.status == "ok":
            continue
        run = sources.run_of(r)
        f = failure_of(run.path, r)
        out.append(replace(f, log=f"{run.run_id}: {f.log}" if f.log else run.run_id))
    return out


def check_out(out: Path, runs: Sequence[RunData]) -> None:
    """Refuse a report folder inside a source run, under a missing parent, or holding
    files the report did not write (UsageError); the folder itself may be new."""
    target = out.resolve()
    for run in runs:
        if target.is_relative_to(run.path.resolve()):
            raise UsageError(f"--out {out}: inside the run {run.run_id}; write it apart")
    if not target.parent.is_dir():
        raise UsageError(f"--out {out}: no folder {out.parent}")
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {out}: not a folder")
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if p.name not in REPORT_WRITES)
        figures = target / REPORT_WRITES[2]
        if figures.is_dir():
            foreign += sorted(
                f"{figures.name}/{p.name}" for p in figures.iterdir() if p.suffix != ".png"
            )
        if foreign:
            raise UsageError(
                f"--out {out}: holds files a report did not write ({', '.join(foreign[:3])})"
            )
