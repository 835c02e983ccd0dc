"""Earlier nights in a comparison: their spread, and the night that confirms a single point.

``--history`` runs (earlier nights) lend each test the night-to-night spread of its
scenario (``known_spreads``), so that a scenario measured once a night can be judged.
But one value cannot tell noise from a regression when the noise has heavy tails: the
recorded memory noise holds one value 38% above its level (VIRTUALENV's 613 of its
389/613 MiB pair), about 1 residual in 376, and with nightly.toml's 68 single-repetition
scenarios 16.5% of the nights draw it somewhere in NEW, where no test on one value can
tell it from a +30% regression. So, as asv does for single points, a single-repetition
scenario's regression fails the gate only when the previous night confirms it: the
newest earlier night (``previous_night``) is, by the same test against the same BASE,
worse by more than the threshold and significant, its p-values adjusted by
Benjamini-Hochberg over that night's tests as NEW's are over NEW's. Noise draws the
outlier for the same scenario on two nights running with probability about (1/376)^2
per scenario; a real regression stays. Otherwise it is "suspected, to confirm
tomorrow": listed with its figures, exit code 0 for it.

The confirmation is only as good as its BASE: the rule assumes a BASE that stays put
from one night to the next (a committed baseline). Where each night's BASE is the last
night that passed, a suspected night becomes the next BASE and the step is lost.

Both nights' tests take their scenario's spread from the nights before the two judged
(``history`` without the previous night, with BASE): a regression present on both must
not count as night-to-night noise against itself. Both nights share BASE, so a BASE
that drew a low outlier makes both look worse: its value counts in that spread, and the
previous night's p-values are adjusted, not raw (with raw ones, 2 of 20 simulated noise
nights failed with 8 earlier nights, each on a time figure whose BASE drew low).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.compare.runs import RunData
from harness.compare.samples import ScenarioSamples, group_scenarios
from harness.compare.stats import KnownSpread

History = dict[tuple[str, str], KnownSpread]
"""(scenario id, metric key) -> the spread earlier runs measured (``known_spreads``);
(phase, metric key) -> the floor: the noise of that phase's metric over the runs."""


def by_start(runs: list[RunData]) -> list[RunData]:
    """The runs oldest first: run.json's started_at, then the order given."""
    return sorted(runs, key=lambda r: r.info.started_at or "")


def previous_night(history: list[RunData], base: RunData, new: RunData) -> RunData | None:
    """The newest run of ``history`` (by started_at) that is neither BASE nor NEW."""
    others = [r for r in by_start(history) if r.run_id not in (base.run_id, new.run_id)]
    return others[-1] if others else None


def known_spreads(history: list[RunData], runs: list[RunData] | None = None) -> History:
    """The spread of each scenario's metrics over earlier runs (e.g. earlier nights), and
    each phase's noise floor per metric over the repetitions of ``runs`` and ``history``."""
    values: dict[tuple[str, str], list[list[float]]] = {}
    phases: dict[tuple[str, str], list[list[float]]] = {}
    phase_of: dict[str, str] = {}
    for i, run in enumerate([*history, *(runs or [])]):
        for sid, s in group_scenarios(run.records).items():
            phase_of[sid] = s.phase
            for key, vals in s.values.items():
                phases.setdefault((s.phase, key), []).append(vals)
                if i < len(history):
                    values.setdefault((sid, key), []).append(vals)
    for (sid, key), nights in values.items():  # night-to-night spread counts in the floor
        phases[(phase_of[sid], key)].append([v for night in nights for v in night])
    out = {k: KnownSpread.of(v) for k, v in values.items()}
    out |= {k: KnownSpread.pooled(v) for k, v in phases.items()}
    return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Nights:
    """What earlier nights lend the tests: ``known``, every earlier night's spread (2+
    repetitions on both sides); ``single``, the same without the previous night (single
    repetitions and their confirmation); ``previous``, the previous night's scenarios ({}
    when there is none; None: no history given, so nothing is confirmed)."""

    known: History
    single: History
    previous: dict[str, ScenarioSamples] | None
    count: int
    """How many earlier runs were given."""
    previous_id: str | None = None

    @classmethod
    def of(cls, history: list[RunData], base: RunData, new: RunData) -> Nights:
        """From ``history`` (any order; BASE may be among them, NEW must not be)."""
        earlier = by_start(history)
        prev = previous_night(earlier, base, new)
        known = known_spreads(earlier, [base, new])
        if prev is None:
            return cls(known, known, {} if earlier else None, len(earlier))
        # the nights before the two judged, BASE always among them (its outlier is noise)
        older = [r for r in earlier if r is not prev and r.run_id != base.run_id]
        single = known_spreads([*older, base], [base, new])
        return cls(known, single, group_scenarios(prev.records), len(earlier), prev.run_id)
