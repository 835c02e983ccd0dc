"""The result of one measurement of a process tree: defined once, stored as-is.

The runner stores this inside each result record (harness.store.record); the
compare and report steps read it from there. Fields are documented where they
are defined, as hyperfine does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.measure.machine_load import MachineLoad

Backend = Literal["cgroup2", "cgroup1", "sample"]
Status = Literal["ok", "error", "oom", "timeout"]


@dataclass(frozen=True)
class MeasureResult:
    """Peak memory and time of one command and all of its descendants."""

    backend: Backend
    """Which source gave ``peak_tree_bytes``: cgroup v2 memory.peak, cgroup v1
    memory.max_usage_in_bytes, or sampling of the tree."""
    status: Status
    """ok: exit code 0; error: non-zero exit; oom: killed by the OOM killer
    (limit reached); timeout: ended by the harness after ``timeout_s``."""
    exit_code: int | None
    """Exit code of the direct child; negative for a signal (as subprocess does)."""
    wall_s: float
    """Wall-clock seconds from start to the reaping of the direct child."""
    user_cpu_s: float
    """User CPU seconds of the whole tree."""
    system_cpu_s: float
    """System CPU seconds of the whole tree."""
    peak_tree_bytes: int
    """Peak memory of the whole tree at one moment, in bytes."""
    peak_single_bytes: int
    """Largest peak RSS of any single process of the tree, in bytes."""
    processes_seen: int
    """How many distinct processes of the tree were seen."""
    limit_bytes: int | None = None
    """Memory limit enforced on the tree, if any."""
    details: dict[str, Any] = field(default_factory=dict)
    """Backend-specific figures, e.g. cgroup v1 memory.stat rss/cache at the
    end, the sampler's interval and PSS peak, ru_maxrss of the direct child."""
    load: MachineLoad | None = None
    """The machine's load while the command ran, and whether it was busy (None in
    records made before it was measured)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasureResult:
        """Inverse of :meth:`to_dict`."""
        load = data.get("load")
        if isinstance(load, dict):
            data = {**data, "load": MachineLoad.from_dict(load)}
        return cls(**data)
