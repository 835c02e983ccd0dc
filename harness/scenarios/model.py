"""What a scenario is: a project plus one value for each axis of harness.registry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.registry import PHASES
from harness.registry.axes import effective
from harness.registry.values import AxisValues


@dataclass(frozen=True)
class ProjectSpec:
    """A synthetic project (models, shape, seed) or a user's own (path)."""

    models: int | None = None
    shape: str | None = None
    seed: int = 0
    path: str | None = None
    profile: str = "harness"
    """harness: a DuckDB profile the harness makes; project: the project's own profiles.yml."""
    prepare: str | None = None
    """A command run once per run in the harness's copy of a user's project (unmeasured),
    e.g. loading its sources: `python scripts/load.py` or `dbt seed`."""

    @property
    def label(self) -> str:
        """Short stable name used in scenario ids."""
        if self.path is not None:
            return f"project={self.path}:{self.profile}"
        return f"{self.shape}-{self.models}-s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the record's axes."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Scenario:
    """A project and one value per axis: one point of the matrix."""

    project: ProjectSpec
    values: tuple[tuple[str, Any], ...]
    """(axis, value) for every axis of harness.registry.AXES, in its order."""

    @property
    def axes(self) -> dict[str, Any]:
        """Axis name -> value."""
        return dict(self.values)

    @property
    def ax(self) -> AxisValues:
        """The axis values as typed attributes (harness.registry.values): how code reads
        one axis, so that a misspelt name is refused instead of read as None."""
        return AxisValues.of(self.axes)

    def effective(self, phase: str) -> dict[str, Any]:
        """The axis values that shape ``phase``; options that do not act there are None,
        so that equal measurements get equal ids (harness.registry.axes.effective)."""
        return effective(self.axes, phase)

    def scenario_id(self, phase: str) -> str:
        """Stable, readable id: phase, project, then the axes that matter."""
        parts = [phase]
        if PHASES[phase].needs_project:
            parts.append(self.project.label)
        for name, value in self.effective(phase).items():
            if value is None:
                continue
            parts.append(f"{name}={_fmt(value)}")
        return "/".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
