"""run.json as the runner writes it: how and where the run measures when it starts,
and what each start or resume adds."""

from __future__ import annotations

import os
import sys
from typing import Any

from harness.measure import choose_backend
from harness.measure.speed import loop_cpu_s
from harness.run.cleanup import MARK_VAR
from harness.run.estimate import run_estimate_s
from harness.scenarios.load import ScenarioFile
from harness.scenarios.matrix import Measurement
from harness.store.runinfo import (
    add_cpu_reference,
    commit_info,
    machine_info,
    now_iso,
    package_versions,
)


def run_info(spec: ScenarioFile, run_id: str, shard: tuple[int, int] | None) -> dict[str, Any]:
    """How and where this run measures: versions, machine, commit, backend, the file."""
    return {
        "run_id": run_id,
        "started_at": now_iso(),
        "finished_at": None,
        "state": "running",
        "scenario_file": str(spec.path),
        "scenario_text": spec.text,
        "shard": list(shard) if shard else None,
        "backend": choose_backend("auto"),
        "versions": package_versions(),
        "machine": machine_info(shard),
        "commit": commit_info(),
        "python_executable": sys.executable,
    }


def begin(info: dict[str, Any], measurements: list[Measurement], *, resumed: bool) -> None:
    """Mark ``info`` as a run (or a resume of one, ``resumed``) that starts now."""
    info["state"] = "running"
    info["owner"] = os.environ.get(MARK_VAR)  # who runs it: harness.run.cleanup
    # The dry-run's figure when the run began, to hold against what it took (a resume
    # keeps the first).
    if "estimate_s" not in info:
        info["estimate_s"] = round(run_estimate_s(measurements))
    info.setdefault("resumed_at", [])
    if resumed:
        info["resumed_at"].append(now_iso())
    # The machine's speed now, at the start and at every resume: a resumed run's parts
    # may have run at different speeds (harness.measure.speed).
    add_cpu_reference(info, loop_cpu_s())
