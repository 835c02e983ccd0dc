"""results.jsonl: records appended one line at a time, flushed and synced as they come,
so a crash or Ctrl-C loses at most the measurement under way."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from harness.errors import InputWarning
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


def read_records(path: Path, *, skip_bad: bool = False) -> Iterator[Record]:
    """Every complete record of a results file (a torn last line is skipped).

    A complete line that is not a record is damage (only the last line can be torn by
    a crash). Strict (the default: a run being resumed must lose nothing), it raises
    CorruptResults naming the file and line. With ``skip_bad`` (the readers of stored
    runs) the bad lines are skipped and named in one InputWarning once the file is
    read; CorruptResults only when no line of the file is a record."""
    bad: list[tuple[int, str]] = []
    good = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.endswith("\n"):
                break
            if not line.strip():
                continue
            record, problem = _checked(line)
            if problem is None and record is not None:
                good += 1
                yield record
            elif not skip_bad:
                raise CorruptResults(_bad_line(path, number, problem))
            else:
                bad.append((number, problem or "?"))
    if bad and not good:
        n = len(bad) - 1
        more = "" if not n else "; 1 more line is not a record either" if n == 1 else \
            f"; {n} more lines are not records either"
        raise CorruptResults(_bad_line(path, *bad[0]) + more)
    if bad:
        warnings.warn(InputWarning(skipped_message(path, bad)), stacklevel=2)


def skipped_message(
    path: Path, bad: list[tuple[int, str]], noun: str = "result record", shown: int = 3
) -> str:
    """One line naming the first ``shown`` bad lines of ``path`` (number and why) that
    are not a ``noun``, and how many more."""
    named = ", ".join(f"{n} ({_cut(why, 100)})" for n, why in bad[:shown])
    more = f" and {len(bad) - shown} more" if len(bad) > shown else ""
    if len(bad) == 1:
        return f"{path}: skipped line {named}: not a {noun}"
    return f"{path}: skipped {len(bad)} lines that are not {noun}s: {named}{more}"


def _bad_line(path: Path, number: int, problem: str | None) -> str:
    return f"{path}:{number}: not a result record ({_cut(problem or '?')})"


def _checked(line: str) -> tuple[Record | None, str | None]:
    """One line as a record, its values checked (harness.store.validate); or what is
    wrong with it."""
    try:
        data = loads(line)
        problem = record_problem(data)
        if problem is not None:
            return None, problem
        record = Record.from_dict(data)
        return record, built_record_problem(record)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        return None, str(exc) if not isinstance(exc, KeyError) else repr(str(exc.args[0]))


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
