"""The smallest worker: the min_worker phase's bisections of the memory limit under
which a whole DAG run still succeeds, as the report reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.compare.samples import ScenarioSamples
from harness.report import figures as fig
from harness.report.common import config_label, size_sort_key, varying_axes

MIN_WORKER_PRECISION = 0.05
"""The bisection's target (harness.run.min_worker.PRECISION): a limit known to within 5%."""
MIN_WORKER_NAMED = ("execution_mode", "execution_invocation", "load_mode", "concurrency")
"""The options the smallest-worker table has a column for (besides the size)."""


@dataclass(frozen=True)
class Probe:
    """One DAG run of the bisection under a limit (None: no limit)."""

    limit_mib: float | None
    status: str
    peak_mib: float | None
    wall_s: float | None


@dataclass(frozen=True)
class MinWorker:
    """One bisection (one min_worker record)."""

    scenario_id: str
    repetition: int
    size: int | str | None
    axes: dict[str, Any]
    status: str
    reason: str | None
    min_limit_mib: float | None
    """The smallest limit tried under which the run succeeded."""
    max_failing_limit_mib: float | None
    """The largest limit tried under which it failed (0: taken to fail, never tried)."""
    precision: float | None
    """(min - max failing) / min when the bisection ended."""
    converged: bool | None
    """Whether ``precision`` reached MIN_WORKER_PRECISION within the allowed steps."""
    unlimited_peak_mib: float | None
    probes: tuple[Probe, ...]
    other: str = ""
    """Options that vary among the bisections besides the ones the report names."""


def min_workers(scenarios: dict[str, ScenarioSamples]) -> list[MinWorker]:
    """Every min_worker record, ordered by size then scenario."""
    of = [s for s in scenarios.values() if s.phase == "min_worker"]
    other = [a for a in varying_axes(of) if a not in MIN_WORKER_NAMED]
    out = []
    for s in of:
        for r in s.records:
            f = fig.of(r)
            probes = tuple(
                Probe(
                    fig.number(p.get("limit_mib")),
                    str(p.get("status")),
                    fig.number(p.get("peak_mib")),
                    fig.number(p.get("wall_s")),
                )
                for p in f.get("probes") or []
                if isinstance(p, dict)
            )
            converged = f.get("converged")
            out.append(
                MinWorker(
                    s.scenario_id,
                    r.repetition,
                    s.size,
                    s.config,
                    r.status,
                    r.reason,
                    fig.number(f.get("min_limit_mib")),
                    fig.number(f.get("max_failing_limit_mib")),
                    fig.number(f.get("precision")),
                    converged if isinstance(converged, bool) else None,
                    fig.number(f.get("unlimited_peak_mib")),
                    probes,
                    config_label(s.config, other) if other else "",
                )
            )
    return sorted(out, key=lambda m: (size_sort_key(m.size), m.scenario_id, m.repetition))
