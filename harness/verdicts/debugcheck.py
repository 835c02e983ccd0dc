"""Debug mode checked: Cosmos's own memory figure (debug mode) against the harness's
peak of the same process tree, and what debug mode costs against its twin without it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from harness import guide
from harness.compare.configs import PHASE_ORDER, size_sort_key
from harness.compare.format import MIB
from harness.compare.samples import ScenarioSamples
from harness.guide.options import OPTIONS
from harness.store import figures as fig


@dataclass(frozen=True)
class DebugCheck:
    """Cosmos's debug figure of one scenario against the harness's peak of the same tree."""

    scenario_id: str
    phase: str
    size: int | str | None
    poll_s: float | None
    repetitions: int
    tasks: int
    """The most tasks that reported a figure in one repetition."""
    cosmos_mib: float
    """Median over the repetitions of Cosmos's largest figure (its "MB" are MiB)."""
    measured: float
    """Median over the repetitions of the harness's peak of the tree, bytes."""
    errors: tuple[float, ...]
    """Per repetition: Cosmos's figure / the harness's peak - 1."""
    overhead: guide.Pair | None
    """This scenario against its twin without debug mode (time and memory it adds)."""

    @property
    def error(self) -> float:
        """Median error over the repetitions."""
        return statistics.median(self.errors)


@dataclass(frozen=True)
class PollSummary:
    """The task phase at one debug poll interval, over every scenario."""

    poll_s: float | None
    scenarios: int
    errors: tuple[float, ...]
    """Every repetition's error (see DebugCheck.errors)."""
    time: guide.ChangeOverPairs | None
    memory: guide.ChangeOverPairs | None
    """What debug mode adds: the change against the twin without it, over the pairs."""


def debug_pairs(scenarios: dict[str, ScenarioSamples]) -> list[guide.Pair]:
    """Debug mode on against off: the guide's own pairs (option 7)."""
    (option,) = [o for o in OPTIONS if o.key == "debug_mode"]
    return guide.find_pairs(option, scenarios)


def debug_checks(
    scenarios: dict[str, ScenarioSamples], pairs: list[guide.Pair]
) -> list[DebugCheck]:
    """Every scenario with Cosmos's debug figure, its error and its cost."""
    by_with = {p.with_id: p for p in pairs}
    out = []
    for s in scenarios.values():
        items = []
        for r in s.records:
            values = r.figs.cosmos_debug_max_memory_mb
            if r.status != "ok" or not isinstance(values, dict) or r.measure is None:
                continue
            numbers = fig.numbers(values.values())
            if numbers and r.measure.peak_tree_bytes:
                items.append((max(numbers), float(r.measure.peak_tree_bytes), len(numbers)))
        if not items:
            continue
        poll = fig.number(s.ax.debug_poll_s)
        out.append(
            DebugCheck(
                s.scenario_id,
                s.phase,
                s.size,
                poll,
                len(items),
                max(i[2] for i in items),
                statistics.median(i[0] for i in items),
                statistics.median(i[1] for i in items),
                # cosmos/debug.py divides by 1024 twice: its "MB" are MiB
                tuple(i[0] * MIB / i[1] - 1.0 for i in items),
                by_with.get(s.scenario_id),
            )
        )
    return sorted(
        out,
        key=lambda d: (
            PHASE_ORDER.get(d.phase, 9),
            size_sort_key(d.size),
            -(d.poll_s or 0),
            d.scenario_id,
        ),
    )


def poll_summaries(checks: list[DebugCheck], pairs: list[guide.Pair]) -> list[PollSummary]:
    """The task phase's error and cost per poll interval (the longest interval first)."""
    polls = sorted({c.poll_s for c in checks if c.phase == "task"}, key=lambda p: -(p or 0))
    out = []
    for poll in polls:
        at = [c for c in checks if c.phase == "task" and c.poll_s == poll]
        ids = {c.scenario_id for c in at}
        cost = [p for p in pairs if p.with_id in ids]
        out.append(
            PollSummary(
                poll,
                len(at),
                tuple(e for c in at for e in c.errors),
                guide.summarise(cost, "time"),
                guide.summarise(cost, "memory"),
            )
        )
    return out
