"""Memory-optimised imports across Cosmos releases: the flag off and on for import and
dag_parse in each release measured (axis cosmos_version)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.compare.configs import PHASE_ORDER, axes_key, config_label, size_sort_key, varying_axes
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Change, compare_samples
from harness.registry import AXES, PHASES
from harness.registry.names import IMPORT, PARSE

VERSION_PHASES = tuple(p for p in PHASES if p in AXES["cosmos_version"].phases & {IMPORT, PARSE})
"""The phases of this table: the import and the DAG parse, where the flag acts on what
Cosmos imports (the cosmos_version axis reaches every phase since issue 29)."""


@dataclass(frozen=True)
class VersionRow:
    """One phase, size, Cosmos release and other configuration: the flag off and on."""

    phase: str
    size: int | str | None
    version: str | None
    """None: the locked environment's Cosmos."""
    label: str
    """The other options that vary among these scenarios."""
    off: ScenarioSamples | None
    on: ScenarioSamples | None
    memory: Change | None
    time: Change | None
    """median(on) / median(off), with significance (None without both sides)."""


def _change(off: ScenarioSamples | None, on: ScenarioSamples | None, metric: str) -> Change | None:
    if off is None or on is None or not off.values.get(metric) or not on.values.get(metric):
        return None
    return compare_samples(off.values[metric], on.values[metric])


def version_rows(scenarios: dict[str, ScenarioSamples]) -> list[VersionRow]:
    """import and dag_parse, flag off and on, in each Cosmos release measured; empty
    unless the run measured a release other than the locked one."""
    of = [
        s
        for s in scenarios.values()
        if s.phase in VERSION_PHASES and "memory_optimised_imports" in s.axes
    ]
    if not any(s.ax.cosmos_version for s in of):
        return []
    flag = "memory_optimised_imports"
    out = []
    for phase in VERSION_PHASES:
        at = [s for s in of if s.phase == phase]
        axes = [a for a in varying_axes(at) if a not in (flag, "cosmos_version")]
        groups: dict[tuple[tuple[str, str], ...], dict[bool, ScenarioSamples]] = {}
        for s in at:
            groups.setdefault(axes_key(s.axes, (flag,)), {})[bool(s.axes[flag])] = s
        for sides in groups.values():
            first = next(iter(sides.values()))
            off, on = sides.get(False), sides.get(True)
            out.append(
                VersionRow(
                    phase,
                    first.size,
                    first.ax.cosmos_version,
                    config_label(first.config, axes) if axes else "",
                    off,
                    on,
                    _change(off, on, "memory"),
                    _change(off, on, "time"),
                )
            )
    return sorted(
        out,
        key=lambda v: (
            PHASE_ORDER[v.phase],
            size_sort_key(v.size),
            v.label,
            v.version is None,
            v.version or "",
        ),
    )
