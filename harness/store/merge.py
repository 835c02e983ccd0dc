"""Join the results of several runs, such as the shards of one matrix, into one run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness.store.jsonl import RESULTS_FILE, read_records, write_records
from harness.store.record import Record
from harness.store.runinfo import now_iso, read_run_info, write_run_info


class MergeError(ValueError):
    """The runs cannot be joined (missing files, or the same measurement twice)."""


def merge_runs(sources: list[Path], dest: Path) -> int:
    """Write dest/results.jsonl and dest/run.json from ``sources``; returns the record count.

    Each record keeps its measurements; its run_id becomes the merged run's. The same
    (scenario id, repetition) in two sources is refused: that is not a sharded matrix.
    """
    if dest.exists() and any(dest.iterdir()):
        raise MergeError(f"{dest} exists and is not empty")
    records: list[Record] = []
    seen: dict[tuple[str, int], Path] = {}
    infos: list[dict[str, Any]] = []
    for src in sources:
        path = src / RESULTS_FILE
        if not path.is_file():
            raise MergeError(f"{src}: no {RESULTS_FILE}")
        for r in read_records(path):
            if r.key in seen:
                raise MergeError(
                    f"{r.scenario_id} repetition {r.repetition} is in both {seen[r.key]} and {src}"
                )
            seen[r.key] = src
            records.append(r)
        infos.append(read_run_info(src))
    dest.mkdir(parents=True, exist_ok=True)
    run_id = dest.name
    n = write_records(
        dest / RESULTS_FILE,
        (dataclasses.replace(r, run_id=run_id) for r in records),
    )
    first = infos[0] if infos else {}
    info = {
        **first,
        "run_id": run_id,
        "merged_at": now_iso(),
        "merged_from": [
            {
                "path": str(s),
                "run_id": i.get("run_id"),
                "shard": i.get("shard"),
                "machine": i.get("machine"),
                "backend": i.get("backend"),
            }
            for s, i in zip(sources, infos, strict=True)
        ],
        "shard": None,
    }
    write_run_info(dest, info)
    return n
