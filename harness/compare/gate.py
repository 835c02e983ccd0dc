"""What makes the nightly gate fail besides a regression of a figure: a NEW run that
measured nothing, did not finish, or holds a shard that did not finish or is empty
(run.json's ``state``, and each merged source's in ``merged_from``)."""

from __future__ import annotations

from harness.compare.runs import RunData
from harness.store.runinfo import Source

FINISHED = "finished"


def _shard_name(src: Source) -> str:
    shard = src.shard
    label = f"shard {shard[0]}/{shard[1]}" if shard and len(shard) == 2 else ""
    return " ".join(p for p in (label, str(src.path or src.run_id)) if p)


def run_failures(new: RunData) -> list[str]:
    """Reasons NEW cannot pass the gate, whatever its figures say; one line each."""
    out = []
    if not new.records:
        out.append(f"{new.run_id} has no record: the run measured nothing")
    state = new.info.state
    if state is not None and state != FINISHED:
        out.append(f"{new.run_id} did not finish (run.json state: {state})")
    for src in new.info.merged_from:
        name = _shard_name(src)
        if src.state is not None and src.state != FINISHED:
            out.append(f"{name} did not finish (state: {src.state})")
        if src.records == 0:
            out.append(f"{name} recorded nothing (an empty shard)")
    return out


def run_notes(run: RunData) -> list[str]:
    """Why a run's completeness is unknown (old run.json without a state)."""
    if run.has_info and run.info.state is None:
        return [f"{run.run_id}: run.json has no state, so whether it finished is unknown"]
    return []
