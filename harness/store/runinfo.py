"""run.json: how and where a run was measured, as one typed, versioned record.

``RunInfo`` is the one definition; the runner writes it (harness.run.runjson), merge and
filter write it for the runs they make (harness.store.merge), compare and report read
it by attribute. What goes into it is gathered by harness.store.provenance.

Schema history (``schema_version``); older files are brought up to date when read, one
step per version (``STEPS``):
  1 - a free dict without ``schema_version`` (every committed run.json; keys were
      added over time: ``owner`` and ``projects`` from 2026-12-01, ``estimate_s``,
      ``cpu_reference``, ``machine.runner`` later; merged runs have ``merged_from``).
  2 - the typed ``RunInfo``: the same keys, with ``schema_version``; ``resumed_at`` and
      ``cpu_reference`` always lists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.store.typed import from_plain, to_plain
from harness.store.validate import BadJson, loads

RUN_FILE = "run.json"
RUN_SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Commit:
    """The harness's git commit (harness.store.provenance.commit_info)."""

    id: str | None = None
    branch: str | None = None
    time: str | None = None
    dirty: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Runner:
    """The CI runner that measured (all None outside CI) and the shard "k/K" it ran."""

    name: str | None = None
    os: str | None = None
    run_id: str | None = None
    run_attempt: str | None = None
    shard: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Machine:
    """What every figure was measured on (harness.store.provenance.machine_info)."""

    node: str | None = None
    system: str | None = None
    kernel: str | None = None
    machine: str | None = None
    cpu: str | None = None
    cores_logical: int | None = None
    cores_physical: int | None = None
    memory_bytes: int | None = None
    runner: Runner | None = None
    """Absent before runs recorded it (2026-12-02)."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CpuReference:
    """The machine's speed at a start or resume: harness.measure.speed's fixed loop."""

    at: str
    loop_cpu_s: float


@dataclass
class Source:
    """What a merged or filtered run keeps of one source run (harness.store.merge)."""

    path: str | None = None
    records: int | None = None
    """How many records the source had (0: an empty shard)."""
    run_id: str | None = None
    shard: list[int] | None = None
    state: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    commit: Commit | None = None
    versions: dict[str, str | None] | None = None
    machine: Machine | None = None
    backend: str | None = None
    scenario_file: str | None = None
    scenario_text: str | None = None
    merged_from: list[Source] | None = None
    filtered_from: Source | None = None
    cpu_reference: list[CpuReference] | None = None
    filter: dict[str, Any] | None = None
    """A filtered run's options (harness.store.merge.filter_run)."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunInfo:
    """run.json of one run folder. Fields a run of its age did not record are None."""

    run_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    state: str | None = None
    """running, finished, interrupted, failed, killed (harness.procs.cleanup); None: unknown."""
    scenario_file: str | None = None
    scenario_text: str | None = None
    shard: list[int] | None = None
    """[k, K] of a sharded run."""
    backend: str | None = None
    """The memory backend (harness.measure)."""
    versions: dict[str, str | None] = field(default_factory=dict)
    """Package -> installed version of the measured stack (None where absent)."""
    machine: Machine | None = None
    commit: Commit | None = None
    python_executable: str | None = None
    owner: str | None = None
    """The mark of the harness that runs it (harness.procs.cleanup)."""
    estimate_s: int | None = None
    """The dry run's estimate when the run began (a resume keeps the first)."""
    resumed_at: list[str] = field(default_factory=list)
    cpu_reference: list[CpuReference] = field(default_factory=list)
    projects: dict[str, Any] | None = None
    """A user's project label -> what preparing it did (harness.run.runner.own_projects)."""
    merged_at: str | None = None
    merged_from: list[Source] = field(default_factory=list)
    mixed: list[str] | None = None
    """Provenance keys that differ between a merged run's sources."""
    filtered_at: str | None = None
    filtered_from: Source | None = None
    sources: list[Source] | None = None
    """The runs a report of several runs reads as one (harness.report.runs); None for a
    run folder's run.json."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this harness does not know (written by another version), kept as they are."""
    schema_version: int = RUN_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of run.json."""
        out: dict[str, Any] = to_plain(self)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> RunInfo:
        """Read run.json's object of any known schema version (TypeError or ValueError
        when it is not one)."""
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > RUN_SCHEMA_VERSION:
            raise ValueError(
                f"run.json schema {version!r} is not one this harness reads "
                f"(1 to {RUN_SCHEMA_VERSION})"
            )
        return from_plain(cls, migrate_run_info(dict(data), RUN_SCHEMA_VERSION))

    @property
    def cpu_references(self) -> list[float]:
        """The loop's CPU seconds at the run's start and resumes, in order."""
        return [e.loop_cpu_s for e in self.cpu_reference]

    def add_cpu_reference(self, loop_cpu_s: float) -> None:
        """Note the machine's speed now (harness.measure.speed): one entry at the start
        and one at every resume."""
        self.cpu_reference.append(CpuReference(now_iso(), loop_cpu_s))


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    for key in ("resumed_at", "cpu_reference", "merged_from"):
        data[key] = data.get(key) or []
    data["versions"] = data.get("versions") or {}
    return data


STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}
"""version -> the step that brings a run.json of that version to the next one."""


def migrate_run_info(data: dict[str, Any], to: int) -> dict[str, Any]:
    """``data`` (run.json's object of any known version) at schema version ``to``."""
    version = int(data.get("schema_version", 1))
    while version < to:
        data = STEPS[version](data)
        version += 1
        data["schema_version"] = version
    return data


def write_run_info(run_dir: Path, info: RunInfo | dict[str, Any]) -> Path:
    """Write run.json atomically (a crash never leaves half a file); a dict is taken as
    run.json's object and checked as the reader does (a test's fixture)."""
    typed = info if isinstance(info, RunInfo) else RunInfo.from_dict(info)
    path = run_dir / RUN_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(typed.to_dict(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


class CorruptRunInfo(UsageError):
    """A run.json that is not one (a list, binary, NaN, nested too deep, wrong types)."""


def read_run_info(run_dir: Path) -> RunInfo | None:
    """run.json of a run folder (None if there is none); content that is not a run.json
    is a CorruptRunInfo of one line, naming the file."""
    path = run_dir / RUN_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        # The strict reader: finite numbers only, bounded nesting (harness.store.validate).
        data = loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, BadJson) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)[:200]
        raise CorruptRunInfo(f"{path}: not a run.json: {why}") from None
    try:
        return RunInfo.from_dict(data)
    except (ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CorruptRunInfo(f"{path}: not a run.json: {reason}") from None


def now_iso() -> str:
    """UTC now, ISO-8601, seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")
