"""Step 1 of the flow: synthetic dbt projects for DuckDB, 10 to 10000 models.

graph.py builds the model DAG of a shape from a seed, render.py turns it into
file contents, project.py writes them and runs ``dbt parse``; cli.py is
``harness generate``.
"""

from harness.generate.graph import MAX_MODELS, MIN_MODELS, SHAPES
from harness.generate.project import (
    MARKER,
    DbtParseError,
    GeneratedProject,
    generate_project,
    is_current,
    write_manifest,
)
from harness.generate.render import MAX_TESTS_PER_MODEL

__all__ = [
    "MARKER",
    "MAX_MODELS",
    "MAX_TESTS_PER_MODEL",
    "MIN_MODELS",
    "SHAPES",
    "DbtParseError",
    "GeneratedProject",
    "generate_project",
    "is_current",
    "write_manifest",
]
