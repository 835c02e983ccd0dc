"""The one reader of axis values: ``AxisValues``, one typed attribute an axis.

A scenario carries a value for every axis (harness.registry.axes.AXES); a record keeps
those that shape its phase, None where an axis does not act there (``effective``), plus
the keys the runner adds (RECORD_KEYS: its project, its size, a sampled task's role).
Reading them by a string name made a misspelt name a silent None; here every axis is an
attribute, typed as its ``Axis.kind`` declares, None where the values lack it or it was
collapsed. A name not declared is no attribute: mypy refuses it, and so does the class at
run time (slots). tests/test_axis_values.py keeps this list equal to AXES and RECORD_KEYS.

It lives in the registry (which imports no step) so that the scenario, the run and the
store may all import it: Scenario.ax, Record.ax and ScenarioSamples.ax build it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AxisValues:
    """Every axis the registry declares (documented there), then the record-only keys."""

    load_mode: str | None = None
    cache: str | None = None
    render_invocation: str | None = None
    partial_parse: bool | None = None
    partial_parse_state: str | None = None
    enable_mock_profile: bool | None = None
    execution_mode: str | None = None
    memory_optimised_imports: bool | None = None
    worker_limit_mib: int | None = None
    execution_invocation: str | None = None
    debug_mode: bool | None = None
    debug_poll_s: float | None = None
    concurrency: int | None = None
    cosmos_version: str | None = None
    import_target: str | None = None
    test_behavior: str | None = None
    test_indirect_selection: str | None = None
    executor: str | None = None
    worker_concurrency: int | None = None
    celery_workers: int | None = None
    task_groups: int | None = None
    run_nodes: int | None = None
    soak_tasks: int | None = None
    dagbag_import_timeout: int | None = None
    watcher_reliable_retry: bool | None = None
    producer_threads: int | None = None
    dbt_version: str | None = None
    # Record-only (RECORD_KEYS): written by harness.run.runner and harness.store.migrate.
    project: dict[str, Any] | None = None
    """The project's spec (harness.scenarios.ProjectSpec.to_dict), phases with a project."""
    models: int | None = None
    """The project's size; None for a user's own project."""
    task_role: str | None = None
    """The sampled task's role (task, pod_size: e.g. root, producer)."""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> AxisValues:
        """The typed view of a scenario's or a record's axes; a key not declared (a record
        of an older or newer harness) is left out, as ``.get`` would never reach it."""
        return cls(**{name: values.get(name) for name in NAMES})


RECORD_KEYS: tuple[str, ...] = ("project", "models", "task_role")
"""The keys a record's axes carry beside the axes: not options of Cosmos."""

NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AxisValues))
"""Every attribute: the axes in AXES order, then RECORD_KEYS."""
