"""The smallest worker: the bisections of the memory limit under which a run still
succeeds, as the report reads them. The phases bisected are the ones the registry shows
in the min_worker section: min_worker (a whole DAG run) and pod_size (one task)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.compare.configs import config_label, size_sort_key, varying_axes
from harness.compare.samples import ScenarioSamples
from harness.registry import PHASES
from harness.registry.names import MIN_WORKER
from harness.store import figures as fig
from harness.store.figures import Figs

MIN_WORKER_PRECISION = 0.05
"""The bisection's target (harness.run.recipes.min_worker.PRECISION): a limit known to within 5%."""
MIN_WORKER_NAMED = ("execution_mode", "execution_invocation", "load_mode", "concurrency")
"""The options the smallest-worker table has a column for (besides the size)."""
SECTION = "min_worker"
"""The registry's name of the report section that shows bisections (Phase.report_section)."""
BISECTED = tuple(p.name for p in PHASES.values() if p.report_section == SECTION)
"""The phases whose records are bisections: min_worker and pod_size."""


@dataclass(frozen=True)
class Probe:
    """One DAG run of the bisection under a limit (None: no limit)."""

    limit_mib: float | None
    status: str
    peak_mib: float | None
    wall_s: float | None
    reason: str | None = None
    """Why it failed, as the run said (records before repeats: None)."""
    repeat: bool = False
    """The second run of a limit whose first failed without an OOM kill."""


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
    phase: str = MIN_WORKER
    role: str | None = None
    """The sampled task a pod_size bisection sized (root, middle, leaf, producer)."""


def _probes(f: Figs) -> tuple[Probe, ...]:
    return tuple(
        Probe(
            fig.number(p.get("limit_mib")),
            str(p.get("status")),
            fig.number(p.get("peak_mib")),
            fig.number(p.get("wall_s")),
            p.get("reason") or None,
            bool(p.get("attempt")),
        )
        for p in f.probes or []
        if isinstance(p, dict)
    )


Keep = Callable[[dict[str, Any]], bool]
"""Which configurations (ScenarioSamples.config) a reader takes."""


def bisections(
    scenarios: dict[str, ScenarioSamples],
    phase: str,
    named: tuple[str, ...] = MIN_WORKER_NAMED,
    keep: Keep | None = None,
) -> list[MinWorker]:
    """Every record of the bisected ``phase`` (one of BISECTED) whose configuration
    ``keep`` takes, ordered by size then scenario; ``other`` names the options that vary
    among them besides ``named``."""
    if phase not in BISECTED:
        raise ValueError(f"{phase} is not a bisection (known: {', '.join(BISECTED)})")
    of = [s for s in scenarios.values() if s.phase == phase and (keep is None or keep(s.config))]
    other = [a for a in varying_axes(of) if a not in named]
    out = []
    for s in of:
        for r in s.records:
            f = r.figs
            converged = f.converged
            out.append(
                MinWorker(
                    s.scenario_id,
                    r.repetition,
                    s.size,
                    s.config,
                    r.status,
                    r.reason,
                    fig.number(f.min_limit_mib),
                    fig.number(f.max_failing_limit_mib),
                    fig.number(f.precision),
                    converged if isinstance(converged, bool) else None,
                    fig.number(f.unlimited_peak_mib),
                    _probes(f),
                    config_label(s.config, other) if other else "",
                    phase,
                    s.ax.task_role or f.role,
                )
            )
    return sorted(out, key=lambda m: (size_sort_key(m.size), m.scenario_id, m.repetition))


def min_workers(scenarios: dict[str, ScenarioSamples], keep: Keep | None = None) -> list[MinWorker]:
    """Every min_worker record (whole DAG runs) ``keep`` takes, by size then scenario."""
    return bisections(scenarios, MIN_WORKER, keep=keep)
