"""run.json as the runner writes it: how and where the run measures when it starts,
and what each start or resume adds."""

from __future__ import annotations

import os
import sys

from harness.measure import choose_backend
from harness.measure.speed import loop_cpu_s
from harness.procs.cleanup import MARK_VAR
from harness.run.estimate import run_estimate_s
from harness.scenarios.matrix import Measurement
from harness.scenarios.scenario_file import ScenarioFile
from harness.store.provenance import commit_info, machine_info, package_versions
from harness.store.runinfo import Commit, Machine, RunInfo, now_iso
from harness.store.typed import from_plain


def run_info(spec: ScenarioFile, run_id: str, shard: tuple[int, int] | None) -> RunInfo:
    """How and where this run measures: versions, machine, commit, backend, the file."""
    commit = commit_info()
    return RunInfo(
        run_id=run_id,
        started_at=now_iso(),
        state="running",
        scenario_file=str(spec.path),
        scenario_text=spec.text,
        shard=list(shard) if shard else None,
        backend=choose_backend("auto"),
        versions=package_versions(),
        machine=from_plain(Machine, machine_info(shard)),
        commit=from_plain(Commit, commit) if commit else None,
        python_executable=sys.executable,
    )


def begin(info: RunInfo, measurements: list[Measurement], *, resumed: bool) -> None:
    """Mark ``info`` as a run (or a resume of one, ``resumed``) that starts now."""
    info.state = "running"
    info.owner = os.environ.get(MARK_VAR)  # who runs it: harness.procs.cleanup
    # The dry-run's figure when the run began, to hold against what it took (a resume
    # keeps the first).
    if info.estimate_s is None:
        info.estimate_s = round(run_estimate_s(measurements))
    if resumed:
        info.resumed_at.append(now_iso())
    # The machine's speed now, at the start and at every resume: a resumed run's parts
    # may have run at different speeds (harness.measure.speed).
    info.add_cpu_reference(loop_cpu_s())
