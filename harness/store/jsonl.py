"""results.jsonl: records appended one line at a time, flushed and synced as they come,
so a crash or Ctrl-C loses at most the measurement under way."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from harness.store.record import Record

RESULTS_FILE = "results.jsonl"


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
    """Every complete record of a results file (a torn last line is skipped)."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            if line.strip():
                yield Record.from_dict(json.loads(line))


def write_records(path: Path, records: Iterable[Record]) -> int:
    """Write records to a new file; returns how many."""
    n = 0
    with ResultsWriter(path) as writer:
        for record in records:
            writer.append(record)
            n += 1
    return n
