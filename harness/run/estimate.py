"""Expected seconds of each measurement, for --dry-run's total and the progress bar's
time left. Each phase's price is declared in the registry (harness.registry.pricing)."""

from __future__ import annotations

from harness.registry import PHASES
from harness.scenarios.matrix import Measurement

DEFAULT_MODELS = 100
"""Size assumed for a user's own project, whose model count is not known up front."""


def estimate_s(m: Measurement) -> float:
    """Expected wall seconds of one repetition of ``m`` (with its set-up)."""
    models = m.scenario.project.models or DEFAULT_MODELS
    return PHASES[m.phase].price(m.scenario.axes, models)
