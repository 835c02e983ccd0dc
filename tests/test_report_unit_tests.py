"""Every module of the packages that read stored runs into a report (harness.guide,
harness.verdicts, harness.report, harness.history) is imported by a test of its own
(issue 30): a module reached only end to end can break without a test saying where."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
HARNESS = TESTS.parent / "harness"
PACKAGES = ("guide", "verdicts", "report", "history")


def imported_modules(path: Path) -> set[str]:
    """The harness modules ``path`` imports: ``from harness.a import b`` counts as both
    harness.a and harness.a.b (b may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("harness.")}


def untested(packages: tuple[str, ...], tests: list[Path]) -> list[str]:
    """The modules of ``packages`` that none of ``tests`` imports."""
    seen = set().union(*(imported_modules(t) for t in tests))
    modules = [
        f"harness.{pkg}.{p.stem}"
        for pkg in packages
        for p in sorted((HARNESS / pkg).glob("*.py"))
        if p.stem != "__init__"
    ]
    return [m for m in modules if m not in seen]


def test_every_report_module_is_imported_by_a_test() -> None:
    tests = sorted(TESTS.glob("test_*.py"))
    assert untested(PACKAGES, tests) == []


def test_the_check_sees_a_module_no_test_imports(tmp_path: Path) -> None:
    lone = tmp_path / "test_lone.py"
    lone.write_text("from harness.history import steps\nimport harness.history.page\n")
    missing = untested(("history",), [lone])
    assert missing == ["harness.history.cli"]
