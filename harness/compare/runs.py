"""A recorded run as compare and report see it: its folder, run.json and records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.store.current import Current, RunRecords, current_records
from harness.store.jsonl import RESULTS_FILE, latest, read_records
from harness.store.record import Record
from harness.store.runinfo import RunInfo, read_run_info

RESULTS_ROOT = Path("results")


@dataclass(frozen=True)
class RunData:
    """One run folder read into memory."""

    path: Path
    info: RunInfo
    """run.json (every field None when the folder has none: ``has_info``)."""
    records: list[Record]
    has_info: bool = True
    """False when the folder has no run.json."""

    @property
    def run_id(self) -> str:
        """The run's id: run.json's, else the folder name."""
        return self.info.run_id or self.path.name


def latest_run(results_root: Path = RESULTS_ROOT) -> Path:
    """The run folder under ``results_root`` whose results file changed last."""
    runs = [p.parent for p in results_root.glob(f"*/{RESULTS_FILE}")]
    if not runs:
        raise UsageError(f"latest: no run under {results_root}/")
    return max(runs, key=lambda p: (p / RESULTS_FILE).stat().st_mtime)


def newest_dated(prefix: str, results_root: Path = RESULTS_ROOT) -> Path:
    """The run folder named ``<prefix>YYYYMMDD[suffix]`` with the greatest name (the
    committed runs' ids are dated): e.g. the newest committed bench for ``bench-``."""
    runs = [p.parent for p in results_root.glob(f"{prefix}*/{RESULTS_FILE}")]
    if not runs:
        raise UsageError(f"no run named {prefix}* under {results_root}/")
    return max(runs, key=lambda p: p.name)


def resolve_run(arg: str | Path, results_root: Path = RESULTS_ROOT) -> Path:
    """A run folder given as a path, as a run id under ``results_root``, or ``latest``."""
    if str(arg) == "latest" and not (results_root / "latest" / RESULTS_FILE).is_file():
        return latest_run(results_root)
    for candidate in (Path(arg), results_root / str(arg)):
        if (candidate / RESULTS_FILE).is_file():
            return candidate
    if Path(arg).is_dir():
        raise UsageError(f"{arg}: no {RESULTS_FILE} in this folder")
    raise UsageError(f"{arg}: neither a run folder nor a run id under {results_root}/")


def load_run(arg: str | Path, results_root: Path = RESULTS_ROOT) -> RunData:
    """Read a run folder (or run id) into a :class:`RunData`; bad input is a UsageError."""
    path = resolve_run(arg, results_root)
    try:
        records = latest(read_records(path / RESULTS_FILE, skip_bad=True))
        info = read_run_info(path)
    except (ValueError, TypeError) as exc:  # JSON errors are ValueErrors; unknown fields TypeErrors
        raise UsageError(f"{path}: unreadable results: {exc}") from None
    return RunData(path, info or RunInfo(), records, has_info=info is not None)


def current_of(runs: Sequence[RunData]) -> Current:
    """The records an answer across ``runs`` uses (harness.store.current), each run
    ordered by run.json's started_at ('' when absent: such a run counts as the oldest)."""
    return current_records([RunRecords(r.run_id, r.info.started_at or "", r.records) for r in runs])
