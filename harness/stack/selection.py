"""The models a ``run_nodes`` DAG run covers: N mutually independent models of the project.

A worker of a big project runs a few tasks at a time, each carrying the whole project
(Cosmos loads the whole manifest, dbt parses the whole project). So a run of N models of
the project, selected by Cosmos's own RenderConfig.select, meets a worker as the whole
DAG run does, in minutes instead of hours. The models are taken breadth first from the
manifest's model graph (the roots, then the models one step below, ...), names sorted
within a depth: the first of them have no dependency on each other, so up to that many
tasks can be in flight at once, and the run starts from a built warehouse, so each has
its upstream tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def model_depths(manifest: dict[str, Any]) -> dict[str, int]:
    """Model unique id -> its depth in the model graph (0: no model upstream)."""
    nodes = manifest.get("nodes") or {}
    models = {k: v for k, v in nodes.items() if v.get("resource_type") == "model"}
    parents = {
        k: [p for p in (v.get("depends_on") or {}).get("nodes") or [] if p in models]
        for k, v in models.items()
    }
    depth: dict[str, int] = {}

    def of(node: str) -> int:
        # Iterative, since a 5000-model chain is deeper than Python's recursion limit.
        stack = [node]
        while stack:
            top = stack[-1]
            todo = [p for p in parents[top] if p not in depth]
            if todo:
                stack.extend(todo)
                continue
            depth[top] = 1 + max((depth[p] for p in parents[top]), default=-1)
            stack.pop()
        return depth[node]

    for node in models:
        of(node)
    return depth


def run_selection(manifest_path: Path, n: int) -> list[str]:
    """The names of the ``n`` models a run_nodes run covers (fewer when the project has
    fewer), breadth first in the model graph."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    depth = model_depths(manifest)
    nodes = manifest["nodes"]
    ordered = sorted(depth, key=lambda k: (depth[k], nodes[k]["name"]))
    return [nodes[k]["name"] for k in ordered[:n]]
