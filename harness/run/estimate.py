"""Expected seconds of each measurement, for --dry-run's total and the progress bar's
time left. Each phase's price is declared in the registry (harness.registry.pricing)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from harness.registry import PHASES
from harness.scenarios.matrix import Measurement

DEFAULT_MODELS = 100
"""Size assumed for a user's own project whose models cannot be counted."""


@lru_cache(maxsize=64)
def count_models(project: str) -> int:
    """The .sql files under a dbt project's model paths: its model count, near enough."""
    root = Path(project)
    try:
        data = yaml.safe_load((root / "dbt_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return DEFAULT_MODELS
    paths = data.get("model-paths") or data.get("source-paths") or ["models"]
    n = sum(1 for p in paths for _ in (root / str(p)).rglob("*.sql"))
    return n or DEFAULT_MODELS


def estimate_s(m: Measurement) -> float:
    """Expected wall seconds of one repetition of ``m`` (with its set-up)."""
    p = m.scenario.project
    models = p.models or (count_models(p.path) if p.path else DEFAULT_MODELS)
    return PHASES[m.phase].price(m.scenario.axes, models)
