"""results.jsonl: records appended one line at a time, flushed and synced as they come,
so a crash or Ctrl-C loses at most the measurement under way."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from harness.store.record import Record
from harness.store.validate import built_record_problem, loads, record_problem

RESULTS_FILE = "results.jsonl"


class CorruptResults(ValueError):
    """A complete line of a results file is not a record (hand-edited or damaged)."""


class ResultsWriter:
    """Appends records to a results file; safe to reopen for --resume."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(path)
        self._fh: IO[str] = path.open("a", encoding="utf-8")

    def append(self, record: Record) -> None:
        """Write one record as one line and make it durable before returning."""
        self._fh.write(json.dumps(record.to_dict(), sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file."""
        self._fh.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that a killed process left half-written."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def read_records(path: Path) -> Iterator[Record]:
    """Every complete record of a results file (a torn last line is skipped).

    Raises CorruptResults, naming the file and line, for a complete line that is
    not a record: only the last line can be torn by a crash, so that is damage."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.endswith("\n"):
                break
            if line.strip():
                yield _parse_line(line, path, number)


def _parse_line(line: str, path: Path, number: int) -> Record:
    """One line as a record, its values checked (harness.store.validate)."""
    try:
        data = loads(line)
        problem = record_problem(data)
        if problem is None:
            record = Record.from_dict(data)
            problem = built_record_problem(record)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        problem = str(exc) if not isinstance(exc, KeyError) else repr(str(exc.args[0]))
    if problem is not None:
        raise CorruptResults(f"{path}:{number}: not a result record ({_cut(problem)})")
    return record


def _cut(text: str, keep: int = 200) -> str:
    """A message cut to ``keep`` characters: it may quote a huge value of the line."""
    return text if len(text) <= keep else text[:keep] + "..."


def write_records(path: Path, records: Iterable[Record]) -> int:
    """Write records to a new file; returns how many."""
    n = 0
    with ResultsWriter(path) as writer:
        for record in records:
            writer.append(record)
            n += 1
    return n


FAILED = frozenset({"error", "oom", "timeout"})
"""Statuses `harness run --rerun-failed` measures again."""


def latest(records: Iterable[Record]) -> list[Record]:
    """One record per (scenario, repetition): the last written. A repetition measured
    again (`harness run --rerun-failed`) is appended, so the newer record wins; the
    order is that of each key's first record."""
    out: dict[tuple[str, int], Record] = {}
    for r in records:
        out[r.key] = r
    return list(out.values())
