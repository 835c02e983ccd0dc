"""The stack each measurement runs, made ready before anything is measured.

A scenario with ``cosmos_version`` other than 'locked' runs every process of its
measurement in a side environment with that Cosmos release (harness.stack.altenv). The
runner builds each such environment once, before the first measurement, so that a
release that cannot run on the locked stack is known with its reason at the start:
each of its measurements gets an ``invalid`` record with that one line, as a
combination Cosmos rejects does, instead of an error in the middle of a run. A
release too old for Airflow 3 never gets here: the scenario file is refused when it
is loaded (harness.registry.releases.cosmos_refusal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.registry.names import BUILDS_DAG
from harness.registry.releases import combination_refusal

if TYPE_CHECKING:  # the runner imports this module
    from harness.run.runner import Unit

Build = Callable[[str], str]
"""A Cosmos release -> the interpreter of its environment (RuntimeError: it cannot)."""


def default_build(root: Path, logs: Path) -> Build:
    """altenv.cosmos_python under ``root``, its build logs and freezes in ``logs``."""

    def build(version: str) -> str:
        from harness.stack.altenv import cosmos_python

        return cosmos_python(version, root.resolve(), logs)

    return build


def prepare_stacks(units: Sequence[Unit], build: Build) -> tuple[dict[str, str], dict[str, str]]:
    """(release -> interpreter, scenario id -> why it cannot run) for the units' releases.

    Each release is built (or found built) once; one that fails to build or import
    makes every measurement of it invalid with the build's one-line reason. A
    combination the release cannot run (WATCHER before Cosmos had it) is invalid
    without a build."""
    pythons: dict[str, str] = {}
    failed: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for unit in units:
        values = unit.measurement.scenario.axes
        version = str(values.get("cosmos_version", "locked"))
        if version == "locked":
            continue
        why = combination_refusal(values) if unit.phase in BUILDS_DAG else None
        if why is None and version not in pythons:
            if version not in failed:
                try:
                    pythons[version] = build(version)
                except RuntimeError as exc:
                    failed[version] = f"cosmos_version {version} cannot run here: {exc}"
            why = failed.get(version)
        if why is not None:
            invalid[unit.scenario_id] = why
    return pythons, invalid
