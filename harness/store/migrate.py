"""Bring records written by an older harness up to the current schema.

One function per step (``_v1_to_v2`` ...); ``migrate`` applies them in turn. The
committed baselines under results/baselines/ are versions 1 and 2: tests/test_store.py
and tests/test_store_migrate.py read them through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from harness.registry import AXES, PHASES

# A synthetic project's label in a scenario id: <shape>-<models>-s<seed>.
_SYNTHETIC = re.compile(r"^([a-z]+)-(\d+)-s(\d+)$")


def _axis_order(sid: str) -> str:
    """The id with its axis=value parts in the registry's order (version 2's ids)."""
    parts = sid.split("/")
    is_axis = [p.split("=", 1)[0] in AXES for p in parts]
    if not any(is_axis):
        return sid
    first = is_axis.index(True)
    last = len(is_axis) - is_axis[::-1].index(True)
    order = {name: i for i, name in enumerate(AXES)}
    middle = sorted(parts[first:last], key=lambda p: order.get(p.split("=", 1)[0], len(order)))
    return "/".join(parts[:first] + middle + parts[last:])


def _project_from_id(sid: str) -> dict[str, Any] | None:
    """The project spec named by a version-1 id's label (soak and min_worker records
    were written without it in their axes)."""
    label = sid.split("/", 1)[1] if "/" in sid else ""
    first = label.split("/", 1)[0]
    if m := _SYNTHETIC.match(first):
        return {"shape": m[1], "models": int(m[2]), "seed": int(m[3])}
    if first.startswith("project="):
        body = label.removeprefix("project=")
        path, sep, rest = body.partition(":")
        profile = rest.split("/", 1)[0] if sep else "harness"
        return {"path": path, "profile": profile, "seed": 0}
    return None


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data["scenario_id"] = _axis_order(data["scenario_id"])
    phase = PHASES.get(data.get("phase", ""))
    axes = dict(data.get("axes") or {})
    if phase is not None and phase.needs_project and "project" not in axes:
        project = _project_from_id(data["scenario_id"])
        if project is not None:
            axes["project"] = project
            axes["models"] = project.get("models")
    data["axes"] = axes
    data["figures"] = dict(data.get("figures") or {})
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Records written before method versions get version 1, the recipes as they stood
    when versions were introduced (harness.registry.phases). Earlier changes are not told
    apart: a parse past the DAG processor's timeout became an error (2026-12-02), the
    bisection repeats a failure without an OOM kill and widens its ceiling (2026-12-03);
    what the figures measure (a peak, a time, the smallest limit that ran) did not change."""
    data["method_version"] = 1
    return data


STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}
"""version -> the step that brings a record of that version to the next one."""


def migrate(data: dict[str, Any], to: int) -> dict[str, Any]:
    """``data`` (a record's dict of any known version) at schema version ``to``."""
    version = int(data.get("schema_version", 1))
    while version < to:
        data = STEPS[version](data)
        version += 1
        data["schema_version"] = version
    return data
