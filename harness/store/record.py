"""The result record: one measurement of one phase of one scenario.

This is the one definition; the runner writes it, compare and report read it.

Schema history (``schema_version``), kept beside the code that reads it; older
records are brought up to date by harness.store.migrate when they are read:
  1 - first version: ``figures`` a free dict.
  2 - ``figures`` typed per phase (harness.registry.figures); scenario ids list the
      axes in the registry's order (dbt_baseline and soak ids changed); soak and
      min_worker records carry their project and size in ``axes`` like the others.
  3 - ``method_version``: the version of the phase's recipe that measured the record
      (harness.registry.phases, ``Phase.method_version``); older records get 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.measure.result import MeasureResult
from harness.registry import PHASES
from harness.registry.figures import Figures
from harness.registry.values import AxisValues
from harness.store.figures import Figs
from harness.store.migrate import migrate

SCHEMA_VERSION = 3

RecordStatus = Literal["ok", "error", "oom", "timeout", "invalid"]


@dataclass(frozen=True)
class Record:
    """One line of results.jsonl."""

    run_id: str
    """The run this measurement belongs to (the folder name under results/)."""
    scenario_id: str
    """Stable id of the measured combination: the phase and the axis values that
    matter to it (see harness.scenarios). Equal ids across runs are comparable."""
    phase: str
    """One of harness.registry.PHASES."""
    axes: dict[str, Any]
    """Every axis value that shapes this phase; axes that cannot change the
    phase's figures are left out (e.g. concurrency for the import phase)."""
    repetition: int
    """0-based repetition index of this measurement."""
    status: RecordStatus
    """ok, error, oom, timeout (from the measurement) or invalid (a combination
    Cosmos rejects; then ``measure`` is None and ``reason`` holds its message)."""
    reason: str | None = None
    """Why the status is not ok: Cosmos's message, the tail of the log."""
    measure: MeasureResult | None = None
    """The measured peak memory and time of the phase's process tree."""
    figures: Figures = field(default_factory=Figures)
    """The phase's own figures, of its registry's type (harness.registry.figures): e.g.
    dag_run's task states, durations and task-slot-seconds, the sampled task ids."""
    started_at: str = ""
    """UTC ISO-8601 time the measurement started."""
    method_version: int = 1
    """The version of the phase's recipe that measured it (``Phase.method_version``):
    records of different versions are not compared (harness.compare.diff)."""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        # Figures given as a plain dict (a migration, a test) become the phase's type.
        if isinstance(self.figures, dict):
            kind = PHASES[self.phase].figures if self.phase in PHASES else Figures
            object.__setattr__(self, "figures", kind.from_dict(self.figures))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the measure result and the figures nested)."""
        out = asdict(self)
        out["figures"] = self.figures.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """Read a record written by any known schema version."""
        version = data.get("schema_version", 1)
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"record schema {version} is newer than this harness ({SCHEMA_VERSION})"
            )
        data = migrate(dict(data), SCHEMA_VERSION)
        if data.get("measure") is not None:
            data["measure"] = MeasureResult.from_dict(data["measure"])
        data["figures"] = dict(data.get("figures") or {})
        return cls(**data)

    @property
    def figs(self) -> Figs:
        """The figures as typed attributes (harness.store.figures): how every reader
        reads them, whatever the record's phase."""
        return Figs.of(self.figures)

    @property
    def ax(self) -> AxisValues:
        """The axes as typed attributes (harness.registry.values), None where the record
        does not carry one: how every reader reads one axis (``axes`` stays the stored dict)."""
        return AxisValues.of(self.axes)

    @property
    def key(self) -> tuple[str, int]:
        """What --resume uses to tell a measurement is already recorded."""
        return (self.scenario_id, self.repetition)
