"""One deployable configuration per project size and deployment: one set of Cosmos
settings, the same in every phase, with the parse, the task and the whole run measured
with it, or the report saying which part was not.

The configuration is anchored on the heaviest phase measured at the size (the whole
DAG run, else one task, else the parse): its lowest-memory candidate, or one tied with
it within the noise (harness.verdicts.recommend.tie_kind; one never compared with it does
not stand in) under which more of the other phases were measured with the same
settings. Each other phase then takes its lightest candidate whose settings agree
with the configuration on every axis both have; where none does, the closest one
is shown with the settings it differs in ("not measured together").

Conditions of the measurement (CONDITIONS: the dbt ls cache's state, the partial-parse
state dbt met, a run_nodes slice, a cgroup limit) are not settings: they are shown apart,
beside the figure they qualify, and never make two phases disagree.

The parse's candidates are ranked by Airflow's limits first, fidelity second and memory
last: a parse within NEAR_SHARE of dagbag_import_timeout is flagged and ranked last;
CUSTOM (Cosmos's own parser) and DBT_LS_FILE (a file the user keeps fresh) come after
the load modes that render dbt's own graph, with what they render differently (the
parse's task count against DBT_MANIFEST's at the same size) where the records tell.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from harness.compare.configs import fmt_axis, sorted_sizes, without_celery
from harness.compare.samples import ScenarioSamples
from harness.registry import AXES
from harness.registry.names import DAG_RUN, PARSE, TASK
from harness.store import figures as fig
from harness.verdicts.parselimits import limit_margins
from harness.verdicts.recommend import (
    NOISE,
    Candidate,
    candidates,
    smallest_workers,
    tie_kind,
    tie_text,
    ties,
)

CONDITIONS = ("cache", "partial_parse_state", "run_nodes", "worker_limit_mib")
"""Axes that are conditions of a measurement, not settings a user deploys."""
NEAR_SHARE = 0.10
"""A parse whose least margin under dagbag_import_timeout is within this share of the
limit is flagged (and ranked after every parse clear of it)."""
IMPORT_LIMIT = "dagbag_import_timeout"
FIDELITY = {
    "CUSTOM": "Cosmos's own parser of the project's files, not dbt's: its graph can "
    "differ from dbt's",
    "DBT_LS_FILE": "reads a dbt ls output file that must be made again whenever the "
    "project changes",
}
"""Load modes that do not render dbt's own graph of the deployed project, and why."""
DEPLOYMENT = "LocalExecutor"
"""The deployment the answer's whole runs ran on (Celery workers: the workers section)."""
PHASE_NAMES = {PARSE: "DAG parse", TASK: "one task", DAG_RUN: "whole DAG run"}
ORDER = (DAG_RUN, TASK, PARSE)


def settings_of(config: dict[str, Any], phase: str) -> dict[str, Any]:
    """The settings of a configuration in ``phase``: its axis values but conditions and
    those that do not act, with quiet defaults an older record left out filled in."""
    out: dict[str, Any] = {}
    for name, axis in AXES.items():
        if name in CONDITIONS or phase not in axis.phases:
            continue
        value = config.get(name, axis.default if axis.quiet_default else None)
        if value is not None:
            out[name] = value
    return out


def conditions_of(config: dict[str, Any]) -> dict[str, Any]:
    """The measurement's conditions (a run_nodes slice or a limit only when set)."""
    return {k: config[k] for k in CONDITIONS if config.get(k) not in (None, 0)}


def settings_text(settings: dict[str, Any]) -> str:
    """Settings as "a=x, b=y" in the registry's order, but those at the default of an
    axis added later (quiet_default: Cosmos's or Airflow's own default, nothing to set)."""
    shown = [fmt_axis(k, v) for k, v in settings.items()
             if not (k in AXES and AXES[k].quiet_default and AXES[k].default == v)]  # fmt: skip
    return ", ".join(shown) or "(the defaults)"


def differs(want: dict[str, Any], have: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """axis -> (the configuration's value, the measured one), where both have the axis."""
    return {k: (v, have[k]) for k, v in want.items() if k in have and have[k] != v}


@dataclass(frozen=True)
class ParseFacts:
    """What ranks a parse beyond its memory: its margin to Airflow's import limit, its
    load mode's fidelity and the number of tasks it rendered."""

    load_mode: str | None
    margin_s: float | None
    limit_s: float | None
    tasks: int | None
    manifest_tasks: int | None
    """The tasks DBT_MANIFEST's parse rendered at the same size (None: not measured)."""

    @property
    def near(self) -> bool:
        """Within NEAR_SHARE of dagbag_import_timeout (or past it)."""
        if self.margin_s is None or not self.limit_s:
            return False
        return self.margin_s < NEAR_SHARE * self.limit_s

    def notes(self) -> list[str]:
        """The flag and the fidelity caveat, as text."""
        out = []
        if self.near and self.margin_s is not None:
            out.append(f"flagged: {self.margin_s:.1f} s under {IMPORT_LIMIT} ({self.limit_s:.0f} "
                       f"s), within {NEAR_SHARE:.0%} of it")  # fmt: skip
        elif self.margin_s is not None:
            out.append(f"{self.margin_s:.1f} s under {IMPORT_LIMIT} ({self.limit_s:.0f} s)")
        why = FIDELITY.get(self.load_mode or "")
        if why:
            counts = ""
            if self.tasks and self.manifest_tasks and self.tasks != self.manifest_tasks:
                counts = (f"; on this project it rendered {self.tasks} tasks against "
                          f"DBT_MANIFEST's {self.manifest_tasks}")  # fmt: skip
            out.append(f"load_mode={self.load_mode}: {why}{counts}")
        return out


def parse_facts(s: ScenarioSamples, manifest_tasks: int | None) -> ParseFacts:
    """The facts of one parse scenario (its records' least margin, its task count)."""
    margins, limits, _ = limit_margins(s.records)
    tasks = fig.numbers(r.figs.tasks for r in s.records if r.status == "ok")
    return ParseFacts(s.ax.load_mode, margins.get(IMPORT_LIMIT),
                      limits.get(IMPORT_LIMIT), int(max(tasks)) if tasks else None,
                      manifest_tasks)  # fmt: skip


@dataclass(frozen=True)
class Part:
    """One phase of the configuration: the candidate measured for it."""

    phase: str
    candidate: Candidate | None
    settings: dict[str, Any]
    """The measured candidate's settings."""
    conditions: dict[str, Any]
    differs: dict[str, tuple[Any, Any]]
    """axis -> (the configuration's value, the measured one): not measured together."""
    under: tuple[tuple[str, float], ...] = ()
    """The same settings under other conditions: (conditions, median peak bytes)."""
    facts: ParseFacts | None = None
    spread: tuple[int, float] = (0, 0.0)
    """(candidates of the phase at this size, the highest median peak among them)."""

    @property
    def together(self) -> bool:
        """Measured with the configuration's settings."""
        return self.candidate is not None and not self.differs


@dataclass(frozen=True)
class Deployable:
    """The answer at one size and deployment: one configuration and its parts."""

    size: int | str | None
    deployment: str
    settings: dict[str, Any]
    parts: dict[str, Part]
    anchor: str
    """The phase the configuration was chosen on (its lowest peak memory)."""
    tied: tuple[str, ...] = ()
    """The anchor's candidates it cannot be told from in memory (their settings)."""
    tie: str | None = None
    """recommend.NOISE, recommend.UNTESTED or both counts."""

    def apart(self) -> list[str]:
        """What was not measured together with the configuration, or not at all."""
        out = []
        for phase in ORDER:
            part = self.parts.get(phase)
            if part is None or part.candidate is None:
                out.append(f"{PHASE_NAMES[phase]}: not measured")
            elif part.differs:
                what = ", ".join(fmt_axis(k, have) for k, (_, have) in part.differs.items())
                out.append(f"{PHASE_NAMES[phase]}: measured with {what}")
        return out


class _Phases:
    """The candidates of each phase at one size, and the parse facts."""

    def __init__(self, by_phase: dict[str, list[Candidate]], facts: dict[str, ParseFacts]):
        self.by_phase = by_phase
        self.facts = facts
        self.worst: dict[int, float] = {}
        """id(candidate) -> the highest peak of its settings over the conditions measured."""
        for phase, cands in by_phase.items():
            for c in cands:
                mine = settings_of(c.config, phase)
                self.worst[id(c)] = max(
                    o.memory for o in cands if settings_of(o.config, phase) == mine
                )

    def rank(self, phase: str, c: Candidate) -> tuple[Any, ...]:
        """The settings' highest peak over the conditions measured (a deployment meets
        whichever), then its own; for the parse: clear of the limit first, dbt's own
        graph second."""
        f = self.facts.get(c.scenario_ids[0]) if phase == PARSE else None
        near, unfaithful = (f.near, f.load_mode in FIDELITY) if f else (False, False)
        return (near, unfaithful, self.worst.get(id(c), c.memory), c.memory)

    def part(self, phase: str, want: dict[str, Any]) -> Part:
        """The best candidate of ``phase`` that agrees with ``want``, else the closest."""
        cands = self.by_phase.get(phase, [])
        if not cands:
            return Part(phase, None, {}, {}, {})
        mine = {id(c): settings_of(c.config, phase) for c in cands}
        best = min(cands, key=lambda c: (len(differs(want, mine[id(c)])), self.rank(phase, c)))
        same = [c for c in cands if mine[id(c)] == mine[id(best)] and c is not best]
        under = tuple((_cond_text(c), c.memory) for c in same)
        return Part(phase, best, mine[id(best)], conditions_of(best.config),
                    differs(want, mine[id(best)]), under,
                    self.facts.get(best.scenario_ids[0]),
                    (len(cands), max(c.memory for c in cands)))  # fmt: skip


def _cond_text(c: Candidate) -> str:
    return ", ".join(fmt_axis(k, v) for k, v in conditions_of(c.config).items()) or (
        "the default conditions"
    )


def _build(phases: _Phases, anchor: str, pick: Candidate) -> tuple[dict[str, Any], dict]:
    """The configuration grown from ``pick``: each other phase's part in turn."""
    settings = settings_of(pick.config, anchor)
    parts = {anchor: phases.part(anchor, settings)}
    for phase in ORDER:
        if phase == anchor or phase not in phases.by_phase:
            continue
        part = phases.part(phase, settings)
        parts[phase] = part
        settings = {**part.settings, **settings}  # the configuration's own values win
    return {k: settings[k] for k in AXES if k in settings}, parts


def deployable(phases: _Phases, size: int | str | None) -> Deployable | None:
    """The configuration at one size (None when no phase of it was measured)."""
    anchor = next((p for p in ORDER if phases.by_phase.get(p)), None)
    if anchor is None:
        return None
    pool = phases.by_phase[anchor]
    best = min(pool, key=lambda c: phases.rank(anchor, c))
    options = [best, *sorted(ties(best, pool, "memory"), key=lambda c: c.memory)]
    # Only a candidate compared with the best and not told apart may stand in for it so
    # that more phases are measured together; one never compared (one repetition
    # against one) is named, but an untested lead is still the lead.
    swaps = [c for c in options if c is best or tie_kind(best, c, "memory") == NOISE]
    built = [(c, *_build(phases, anchor, c)) for c in swaps]
    pick, settings, parts = max(built, key=lambda b: sum(p.together for p in b[2].values()))
    # Tied: other settings (the same settings under other conditions are the part's own).
    mine = settings_of(pick.config, anchor)
    tied = {settings_text(s): c for c in options
            if (s := settings_of(c.config, anchor)) != mine}  # fmt: skip
    return Deployable(
        size, DEPLOYMENT, settings, parts, anchor, tuple(tied),
        tie_text(pick, list(tied.values()), "memory") if tied else None,
    )  # fmt: skip


def all_parse_facts(of_parse: list[ScenarioSamples]) -> dict[str, ParseFacts]:
    """scenario id -> its parse facts, with DBT_MANIFEST's task count at its size."""
    manifest: dict[int | str | None, int] = {}
    for s in of_parse:
        if s.ax.load_mode == "DBT_MANIFEST":
            tasks = fig.numbers(r.figs.tasks for r in s.records if r.status == "ok")
            if tasks and tasks[0] > 0:
                manifest[s.size] = int(statistics.median(tasks))
    return {s.scenario_id: parse_facts(s, manifest.get(s.size)) for s in of_parse}


def answer(scenarios: dict[str, ScenarioSamples]) -> list[Deployable]:
    """One configuration per project size measured (LocalExecutor runs; a Celery run's
    own peak is its scheduler loop's alone)."""
    local = without_celery(scenarios)
    workers = smallest_workers(scenarios)
    by_phase: dict[str, dict[int | str | None, list[Candidate]]] = {}
    for phase in ORDER:
        of = [s for s in local.values() if s.phase == phase]
        by_phase[phase] = candidates(of, workers if phase == DAG_RUN else None)
    facts = all_parse_facts([s for s in local.values() if s.phase == PARSE])
    sizes = sorted_sizes(size for by in by_phase.values() for size in by)
    out = []
    for size in sizes:
        if size is None:
            continue
        at = {p: by[size] for p, by in by_phase.items() if by.get(size)}
        d = deployable(_Phases(at, facts), size)
        if d is not None:
            out.append(d)
    return out
