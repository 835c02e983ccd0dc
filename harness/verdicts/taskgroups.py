"""Task groups as the report reads them: the DAG processor's parse and one task against
the number of DbtTaskGroups sharing one project and manifest (the task_groups axis).

The phases are the ones the axis declares it shapes, but its bisection (pod_size, shown
with the pod sizes): the parse, in time and memory against Airflow's
dagbag_import_timeout (harness.run.recipes.parse_probe records the limit, the margin
left under it and whether the parse passed it), and one task, which re-imports the DAG
file and with it every group's reading of the manifest.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass

from harness.compare.configs import ConfigKey, axes_key, config_label, size_sort_key, varying_axes
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Spread
from harness.registry import AXES, PHASES
from harness.registry.names import PARSE
from harness.store import figures as fig
from harness.store.record import Record
from harness.verdicts.minworker import BISECTED
from harness.verdicts.parselimits import limit_margins
from harness.verdicts.sweep import spread_of

AXIS = "task_groups"
GROUPED = tuple(p for p in PHASES if p in AXES[AXIS].phases and p not in BISECTED)
"""The phases read here (the parse and the task), in the registry's order."""
IMPORT_TIMEOUT = "dagbag_import_timeout"
"""Airflow's limit on a DAG file's import, the one a parse of many groups meets first."""


@dataclass(frozen=True)
class GroupPoint:
    """One number of task groups of a sweep (for the task: its heaviest sampled role)."""

    groups: int
    """0: one DbtDag (no task group)."""
    scenario_id: str
    n_ok: int
    n: int
    memory: Spread | None
    time: Spread | None
    """Wall time of the measured process (the fresh parse, or `airflow tasks test`)."""
    airflow_parse: Spread | None = None
    """The parse: the file's parse duration as Airflow reports it (what its limits bound)."""
    tasks: int | None = None
    """The parse: the DAG's tasks."""
    role: str | None = None
    """The task: the sampled role shown (the heaviest by median peak)."""
    limit_s: float | None = None
    """The parse: dagbag_import_timeout in force."""
    margin_s: float | None = None
    """The parse: the least time left under it over the repetitions (negative: passed)."""
    flags: tuple[str, ...] = ()
    """The parse: "passed" or "near" for each repetition that was flagged."""


@dataclass(frozen=True)
class GroupSweep:
    """The scenarios of one phase, configuration and size that differ in task groups."""

    phase: str
    size: int | str | None
    label: str
    points: tuple[GroupPoint, ...]
    """In ascending number of task groups."""


def _groups(s: ScenarioSamples) -> int:
    return int(s.axes.get(AXIS) or 0)  # the default (one DbtDag) is left out of ids


def _median_memory(s: ScenarioSamples) -> float:
    values = s.values.get("memory")
    return statistics.median(values) if values else -1.0


def _with_parse(point: GroupPoint, records: list[Record]) -> GroupPoint:
    """``point`` with the parse's own figures: Airflow's duration, its limit, the margin."""
    ok = [r for r in records if r.status == "ok"]
    # Airflow's own figure of the parse, else the probe's (records before Airflow's).
    durations = [
        r.figs.parse_s if r.figs.airflow_parse_s is None else r.figs.airflow_parse_s for r in ok
    ]
    margins, limits, flags = limit_margins(records)
    tasks = fig.numbers(r.figs.tasks for r in ok)
    return dataclasses.replace(
        point,
        airflow_parse=spread_of(fig.numbers(durations)),
        tasks=int(max(tasks)) if tasks else None,
        limit_s=limits.get(IMPORT_TIMEOUT),
        margin_s=margins.get(IMPORT_TIMEOUT),
        flags=flags,
    )


def _point(phase: str, at: list[ScenarioSamples]) -> GroupPoint:
    s = max(at, key=_median_memory)  # the heaviest sampled task; a parse has one
    point = GroupPoint(
        _groups(s),
        s.scenario_id,
        s.n_ok,
        sum(s.statuses.values()),
        spread_of(s.values.get("memory", [])),
        spread_of(s.values.get("time", [])),
    )
    if phase == PARSE:
        return _with_parse(point, s.records)
    role = s.ax.task_role
    return dataclasses.replace(point, role=str(role) if role else None)


def group_sweeps(scenarios: dict[str, ScenarioSamples], phase: str) -> list[GroupSweep]:
    """Every configuration and size of ``phase`` (one of GROUPED) measured with task groups."""
    of = [s for s in scenarios.values() if s.phase == phase]
    axes = [a for a in varying_axes(of) if a != AXIS]
    by: dict[tuple[int | str | None, ConfigKey], dict[int, list[ScenarioSamples]]] = {}
    for s in of:
        key = (s.size, axes_key(s.config, drop=(AXIS,)))
        by.setdefault(key, {}).setdefault(_groups(s), []).append(s)
    out = []
    for (size, _), at in by.items():
        if not any(n > 0 for n in at):
            continue  # no task group measured: the guide shows it
        first = next(iter(at.values()))[0]
        points = tuple(_point(phase, at[n]) for n in sorted(at))
        out.append(GroupSweep(phase, size, config_label(first.config, axes), points))
    return sorted(out, key=lambda g: (size_sort_key(g.size), g.label))
