"""The recommendations as data: for each phase (whole DAG run, one task) and size, what a
user may want (the lowest peak, the fastest, the fastest within a 1, 2 and 4 GiB worker)
and the configuration that answers it (harness.verdicts.recommend), its settings apart
from the conditions it was measured under, and the configurations it cannot be told from
("within the noise" when compared, "untested against each other" when measured once
each). report.json (harness.report.guide_json) and the report's table
(harness.report.sections_recommend) are both rendered from ``recommendation_data``, so
they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.compare.configs import fmt_axis
from harness.compare.format import MIB, fmt_mib, fmt_seconds
from harness.compare.samples import ScenarioSamples
from harness.registry.names import DAG_RUN, TASK
from harness.verdicts.deploy import conditions_of, settings_of, settings_text
from harness.verdicts.recommend import WORKER_GIB, Candidate, Recommendation, recommend, ties
from harness.verdicts.recommend import tie_kind as _tie_kind

PHASES = ((DAG_RUN, "whole DAG run"), (TASK, "one task (largest sampled)"))


@dataclass(frozen=True)
class Choice:
    """One configuration as the recommendations show it."""

    settings: dict[str, Any]
    conditions: dict[str, Any]
    memory_mib: float
    time_s: float
    repetitions: int
    ran_in_mib: float | None
    tie: str | None = None
    """Against the pick: recommend.NOISE or recommend.UNTESTED (None: the pick itself)."""

    def text(self, pick: Choice | None = None) -> str:
        """ "settings (conditions): 333 MiB, 37.6 s (ran in ...)"; against ``pick``, only
        the settings that differ from it."""
        cond = ", ".join(fmt_axis(k, v) for k, v in self.conditions.items())
        if pick is None:
            what = settings_text(self.settings)
        else:
            mine = {k: v for k, v in self.settings.items() if pick.settings.get(k) != v}
            mine |= {k: None for k in pick.settings if k not in self.settings}
            what = ", ".join(fmt_axis(k, v) for k, v in mine.items()) or "the same settings"
        out = what + (f" ({cond})" if cond else "")
        out += f": {fmt_mib(self.memory_mib * MIB)}, {fmt_seconds(self.time_s)}"
        if self.ran_in_mib is not None:
            out += f" (ran in {self.ran_in_mib:.0f} MiB)"
        return out


@dataclass(frozen=True)
class GoalPick:
    """The goals one configuration answers at one size, and what it is tied with."""

    phase: str
    size: int | str | None
    configurations: int
    goals: tuple[str, ...]
    metric: str
    """The metric the pick was chosen on (memory or time)."""
    pick: Choice | None
    """None: no configuration fits."""
    tied: tuple[Choice, ...] = ()


def _choice(c: Candidate, phase: str, tie: str | None = None) -> Choice:
    ran_in = c.smallest_worker / MIB if c.smallest_worker is not None else None
    return Choice(settings_of(c.config, phase), conditions_of(c.config), c.memory / MIB,
                  c.time, len(c.values.get("memory", ())), ran_in, tie)  # fmt: skip


def _goals(r: Recommendation) -> list[tuple[str, Candidate | None, str]]:
    """(what the user wants, the pick, the metric it is chosen on) in the table's order."""
    goals: list[tuple[str, Candidate | None, str]] = [
        ("lowest peak memory", r.lowest_memory, "memory"),
        ("fastest", r.fastest, "time"),
    ]
    return goals + [(f"fastest within {g} GiB", r.fits[g], "time") for g in WORKER_GIB]


def goal_picks(r: Recommendation) -> list[GoalPick]:
    """One GoalPick per distinct pick of ``r``: goals answered by the same configuration
    share it."""
    merged: dict[str, list[str]] = {}
    picks: dict[str, tuple[Candidate | None, str]] = {}
    for goal, pick, metric in _goals(r):
        key = pick.label if pick else "none fits"
        merged.setdefault(key, []).append(goal)
        picks.setdefault(key, (pick, metric))
    out = []
    for key, goals in merged.items():
        pick, metric = picks[key]
        tied: tuple[Choice, ...] = ()
        if pick is not None:
            tied = tuple(_choice(c, r.phase, _tie_kind(pick, c, metric))
                         for c in ties(pick, list(r.pool), metric))  # fmt: skip
        out.append(GoalPick(r.phase, r.size, r.candidates, tuple(goals), metric,
                            _choice(pick, r.phase) if pick else None, tied))  # fmt: skip
    return out


def recommendation_data(scenarios: dict[str, ScenarioSamples]) -> list[GoalPick]:
    """Every phase's goal picks at every size (LocalExecutor scenarios expected)."""
    return [g for phase, _ in PHASES for r in recommend(scenarios, phase) for g in goal_picks(r)]
