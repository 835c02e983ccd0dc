"""The layout shows the flow: generate -> scenarios -> run -> measure -> store ->
compare/report. Data moves one way: no step imports one that builds on it."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"

# What each step may import of the harness (besides itself and the shared
# errors/stack_env modules). The runner drives generate, scenarios and measure and
# hands records to store; store holds measure's result type; compare and report
# read stored runs.
ALLOWED = {
    "generate": set(),
    "scenarios": {"generate"},  # the shapes and sizes the generator accepts
    "measure": set(),
    "store": {"measure"},
    "run": {"generate", "scenarios", "measure", "store"},
    "compare": {"store", "scenarios", "measure"},
    "report": {"compare", "store", "scenarios", "measure"},
}
SHARED = {"errors", "stack_env"}


def harness_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "harness" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_steps_import_only_the_steps_before_them() -> None:
    bad = []
    for step, allowed in ALLOWED.items():
        folder = HARNESS / step
        if not folder.exists():
            continue
        for path in folder.rglob("*.py"):
            extra = harness_imports(path) - allowed - SHARED - {step}
            if extra:
                bad.append(f"{path.relative_to(HARNESS)} imports {sorted(extra)}")
    assert bad == []


def test_measure_result_and_record_are_defined_once() -> None:
    defs = {}
    for path in HARNESS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name in ("MeasureResult", "Record"):
                defs.setdefault(node.name, []).append(str(path.relative_to(HARNESS)))
    assert defs == {"MeasureResult": ["measure/result.py"], "Record": ["store/record.py"]}
