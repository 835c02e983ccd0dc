"""Join the results of several runs, such as the shards of one matrix, into one run;
keep a subset of one run's records. Either way run.json keeps where each record came
from: each source's commit, versions, scenario text, machine, backend and state."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.store.jsonl import RESULTS_FILE, latest, read_records, write_records
from harness.store.record import Record
from harness.store.runinfo import RunInfo, Source, now_iso, read_run_info, write_run_info

FINISHED = "finished"
# run.json fields kept per source (Source); the ones that may differ between shards are
# listed in "mixed" when they do, so compare and the report can flag them.
SOURCE_KEYS = (
    "run_id", "shard", "state", "started_at", "finished_at", "commit", "versions", "machine",
    "backend", "scenario_file", "scenario_text", "merged_from", "filtered_from", "cpu_reference",
)
MIXED_KEYS = ("commit", "versions", "machine", "backend", "scenario_text")


class MergeError(ValueError):
    """The runs cannot be joined (missing files, or the same measurement twice)."""


def source_info(path: Path, info: RunInfo | None, n_records: int) -> Source:
    """What a merged or filtered run keeps of one source run."""
    kept = {k: getattr(info, k) for k in SOURCE_KEYS} if info else {}
    return Source(path=str(path), records=n_records, **kept)


def combined_state(infos: list[RunInfo | None]) -> str | None:
    """"finished" when every source finished; else the first other state (None: unknown)."""
    states = [i.state if i else None for i in infos]
    if states and all(s == FINISHED for s in states):
        return FINISHED
    return next((s or "unknown" for s in states if s != FINISHED), None)


def _check_dest(dest: Path) -> None:
    if dest.exists() and any(dest.iterdir()):
        raise MergeError(f"{dest} exists and is not empty")


def _read_source(src: Path) -> tuple[list[Record], RunInfo | None]:
    path = src / RESULTS_FILE
    try:
        found = path.is_file()
    except OSError as exc:  # a name over the file system's limit, a loop of links
        raise MergeError(f"{src}: {exc.strerror}") from None
    if not found:
        raise MergeError(f"{src}: no {RESULTS_FILE}")
    return latest(read_records(path, skip_bad=True)), read_run_info(src)


def _write(dest: Path, records: list[Record], info: RunInfo) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    n = write_records(
        dest / RESULTS_FILE, (dataclasses.replace(r, run_id=dest.name) for r in records)
    )
    write_run_info(dest, info)
    return n


def merge_runs(sources: list[Path], dest: Path) -> int:
    """Write dest/results.jsonl and dest/run.json from ``sources``; returns the record count.

    Each record keeps its measurements; its run_id becomes the merged run's. The same
    (scenario id, repetition) in two sources is refused: that is not a sharded matrix.
    run.json holds the first source's fields (as before), ``merged_from`` every source's
    provenance, ``mixed`` the provenance keys that differ, and ``state`` "finished"
    only when every source finished.
    """
    _check_dest(dest)
    records: list[Record] = []
    seen: dict[tuple[str, int], Path] = {}
    infos: list[RunInfo | None] = []
    sources_info = []
    for src in sources:
        recs, info = _read_source(src)
        for r in recs:
            if r.key in seen:
                raise MergeError(
                    f"{r.scenario_id} repetition {r.repetition} is in both {seen[r.key]} and {src}"
                )
            seen[r.key] = src
        records += recs
        infos.append(info)
        sources_info.append(source_info(src, info, len(recs)))
    first = (infos[0] if infos else None) or RunInfo()
    info = dataclasses.replace(
        first,
        run_id=dest.name,
        merged_at=now_iso(),
        merged_from=sources_info,
        mixed=[k for k in MIXED_KEYS if len({repr(getattr(i, k, None)) for i in infos}) > 1],
        state=combined_state(infos),
        shard=None,
        # Every source's machine speed, so a merge of parts at different speeds says so.
        cpu_reference=[e for i in infos if i for e in i.cpu_reference],
        filtered_from=None,
        filtered_at=None,
    )
    return _write(dest, records, info)


def filter_run(
    src: Path, dest: Path, keep: Callable[[Record], bool], how: dict[str, Any]
) -> tuple[int, int]:
    """Write the records of ``src`` that ``keep`` accepts as a new run in ``dest``, with
    run.json's ``filtered_from`` naming the source and ``how`` (the filter's options).
    Returns (kept, dropped)."""
    _check_dest(dest)
    records, info = _read_source(src)
    kept = [r for r in records if keep(r)]
    source = dataclasses.replace(source_info(src, info, len(records)), filter=how)
    out = dataclasses.replace(
        info or RunInfo(), run_id=dest.name, filtered_at=now_iso(), filtered_from=source
    )
    _write(dest, kept, out)
    return len(kept), len(records) - len(kept)
