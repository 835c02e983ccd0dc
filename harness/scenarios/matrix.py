"""Expand matrices into the distinct measurements to make, and select among them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.errors import UsageError
from harness.registry import AXES, PHASES
from harness.scenarios.model import Scenario
from harness.scenarios.scenario_file import ScenarioFile


@dataclass(frozen=True)
class Measurement:
    """One phase of one scenario, to be measured ``repetitions`` times."""

    phase: str
    scenario: Scenario
    repetitions: int
    matrix: str

    @property
    def scenario_id(self) -> str:
        """The id stored with each of its records."""
        return self.scenario.scenario_id(self.phase)


def expand(spec: ScenarioFile) -> list[Measurement]:
    """Every distinct measurement of the file's matrices, in run order.

    Combinations that differ only in axes a phase ignores collapse into one
    measurement (the largest repetition count wins). The order groups work by
    project and then by phase, so a project is generated once and reused.
    """
    found: dict[str, Measurement] = {}
    for matrix in spec.matrices:
        names = list(AXES)
        for project in matrix.projects:
            for combo in itertools.product(*(matrix.axes[n] for n in names)):
                scenario = Scenario(project, tuple(zip(names, combo, strict=True)))
                for phase in matrix.phases:
                    m = Measurement(phase, scenario, matrix.repetitions, matrix.name)
                    old = found.get(m.scenario_id)
                    if old is None or old.repetitions < m.repetitions:
                        found[m.scenario_id] = m if old is None else _with_reps(old, m.repetitions)
    order = {p: i for i, p in enumerate(PHASES)}
    return sorted(
        found.values(),
        # A phase that makes a shared artefact (plain dbt build's warehouse) goes first,
        # so its project's tasks read it instead of a set-up build of their own.
        key=lambda m: (
            PHASES[m.phase].needs_project,
            m.scenario.project.label,
            not PHASES[m.phase].makes,
            order[m.phase],
        ),
    )


def _with_reps(m: Measurement, repetitions: int) -> Measurement:
    return Measurement(m.phase, m.scenario, repetitions, m.matrix)


_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def keyword_matcher(expr: str) -> Callable[[str], bool]:
    """A test of scenario ids for a -k expression, as pytest's -k: substrings joined by
    ``and``, ``or``, ``not`` and parentheses. A malformed expression is a UsageError."""
    tokens = _TOKEN.findall(expr)
    words = [t for t in tokens if t not in ("(", ")", "and", "or", "not")]

    def matches(sid: str) -> bool:
        code = " ".join(
            t if t in ("(", ")", "and", "or", "not") else repr(t in sid) for t in tokens
        )
        return bool(eval(code, {"__builtins__": {}}, {}))  # only True/False/and/or/not

    try:
        matches("")
    except SyntaxError:
        raise UsageError(f"-k: cannot parse expression {expr!r}") from None
    if not words:
        raise UsageError(f"-k: expression {expr!r} names nothing to match")
    return matches


def select(measurements: Iterable[Measurement], expr: str | None) -> list[Measurement]:
    """Keep the measurements whose id matches a -k expression (``keyword_matcher``)."""
    items = list(measurements)
    if not expr:
        return items
    matches = keyword_matcher(expr)
    return [m for m in items if matches(m.scenario_id)]
