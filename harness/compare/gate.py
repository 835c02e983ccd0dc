"""What makes the nightly gate fail besides a regression of a figure: a NEW run that
measured nothing, did not finish, or holds a shard that did not finish or is empty
(run.json's ``state``, and each merged source's in ``merged_from``)."""

from __future__ import annotations

from typing import Any

from harness.compare.runs import RunData

FINISHED = "finished"


def _shard_name(src: dict[str, Any]) -> str:
    shard = src.get("shard")
    label = f"shard {shard[0]}/{shard[1]}" if isinstance(shard, list) and len(shard) == 2 else ""
    return " ".join(p for p in (label, str(src.get("path") or src.get("run_id"))) if p)


def run_failures(new: RunData) -> list[str]:
    """Reasons NEW cannot pass the gate, whatever its figures say; one line each."""
    out = []
    if not new.records:
        out.append(f"{new.run_id} has no record: the run measured nothing")
    state = new.info.get("state")
    if state is not None and state != FINISHED:
        out.append(f"{new.run_id} did not finish (run.json state: {state})")
    for src in new.info.get("merged_from") or []:
        name = _shard_name(src)
        if "state" in src and src["state"] != FINISHED:
            out.append(f"{name} did not finish (state: {src['state']})")
        if src.get("records") == 0:
            out.append(f"{name} recorded nothing (an empty shard)")
    return out


def run_notes(run: RunData) -> list[str]:
    """Why a run's completeness is unknown (old run.json without a state)."""
    if run.info and "state" not in run.info:
        return [f"{run.run_id}: run.json has no state, so whether it finished is unknown"]
    return []
