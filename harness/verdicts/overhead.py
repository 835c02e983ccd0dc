"""Where a run's time went: the harness's own share of each phase (issue 32).

A repetition's ``harness_s`` is all the runner spent on it (workspace, Airflow's
database, priming parses, the measured command, reading its logs); its measure's
``wall_s`` is the measured command alone. The difference is the harness's own time,
the repetitions a bench could have had instead. Two known parts of it are shown apart:
the project's one-off set-up (figures ``setup_s``: dbt parse, ls, build, once per
project and run, paid by the first repetition that needs it) and the measurement's own
set-up steps (``setup_steps_s``: workspace, cache state, the task's DAG import, the
warehouse's copy); the rest is starting and reading back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.store.record import Record


@dataclass(frozen=True)
class PhaseTime:
    """One phase's repetitions: what the runner spent and what was measured."""

    phase: str
    measurements: int
    harness_s: float
    wall_s: float
    setup_s: float
    """The project set-up these repetitions paid (part of harness_s)."""
    steps_s: float
    """The measurements' own set-up steps (figures.setup_steps_s, part of harness_s)."""

    @property
    def own_s(self) -> float:
        """The harness's own time: all it spent but the measured commands."""
        return self.harness_s - self.wall_s

    @property
    def share(self) -> float | None:
        """The harness's own time over the measured time, issue 32's measure (sum of
        harness_s over sum of wall_s, less one); None: nothing measured."""
        return self.own_s / self.wall_s if self.wall_s > 0 else None


def phase_times(records: Iterable[Record]) -> list[PhaseTime]:
    """Per phase, in the order first met, over the repetitions that ran a command
    (status not invalid) and recorded both harness_s and a measure."""
    acc: dict[str, list[float]] = {}
    for r in records:
        spent = r.figs.harness_s
        if r.status == "invalid" or spent is None or r.measure is None:
            continue
        row = acc.setdefault(r.phase, [0, 0.0, 0.0, 0.0, 0.0])
        row[0] += 1
        row[1] += spent
        row[2] += r.measure.wall_s
        row[3] += sum((r.figs.setup_s or {}).values())
        row[4] += sum((r.figs.setup_steps_s or {}).values())
    return [PhaseTime(p, int(n), h, w, s, st) for p, (n, h, w, s, st) in acc.items()]
