"""Scenario files (TOML) and their expansion into the measurements to make."""

from harness.scenarios.matrix import Measurement, expand, select
from harness.scenarios.model import ProjectSpec, Scenario
from harness.scenarios.scenario_file import load_scenario_file

__all__ = [
    "Measurement",
    "ProjectSpec",
    "Scenario",
    "expand",
    "load_scenario_file",
    "select",
]
