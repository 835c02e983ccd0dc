"""The layout shows the flow: generate -> scenarios -> run -> measure -> store ->
compare/size -> guide -> verdicts -> report (-> history), the runner driving the stack
through stack/ and procs/. Data moves one way: no step imports one that builds on it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"

# What each step may import of the harness (besides itself, the shared errors, paths and
# stack_env modules, and the registry of phases and axes, which imports no step).
# The runner drives generate, scenarios and measure and hands records to store;
# store holds measure's result type; compare and report read stored runs. The judgement of
# stored runs (the memory guide, then the verdicts) sits between them and the report, which
# only lays it out: neither imports the report.
ALLOWED = {
    "generate": set(),
    "scenarios": {"generate"},  # the shapes and sizes the generator accepts
    "measure": set(),
    "store": {"measure"},
    # Process hygiene: services measured in their own cgroups, the mark and the reaper
    # (cleanup reads and amends run.json's state, a store type).
    "procs": {"measure", "store"},
    # The adapters to Airflow, Celery, dbt and the side environment: they never import the
    # runner that drives them.
    "stack": {"generate", "scenarios", "measure", "procs"},
    "run": {"generate", "scenarios", "measure", "store", "stack", "procs"},
    "compare": {"store", "scenarios", "measure"},
    # size fits the sizing model from stored records (compare reads the runs).
    "size": {"compare", "store", "scenarios", "measure"},
    "guide": {"compare", "store", "scenarios", "measure"},
    "verdicts": {"guide", "compare", "store", "scenarios", "measure", "size"},
    "report": {"verdicts", "guide", "compare", "store", "scenarios", "measure", "size"},
    # The history page of nightly runs is laid out by the report's templates.
    "history": {"report", "compare", "store"},
    # advise plans, runs and reads back: it sits on top and may use every step.
    "advise": {
        "generate", "scenarios", "run", "stack", "procs", "measure", "store", "compare",
        "size", "guide", "verdicts", "report",
    },
}
SHARED = {"errors", "stack_env", "registry", "paths"}


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


def test_the_registry_imports_no_step() -> None:
    for path in (HARNESS / "registry").rglob("*.py"):
        assert harness_imports(path) <= {"registry"}, path.name


def _string_constants(node: ast.AST) -> list[str]:
    elts: list[ast.expr] = []
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        elts = list(node.elts)
    elif isinstance(node, ast.Dict):
        elts = [k for k in node.keys if k is not None]
    return [e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def test_no_list_of_phase_names_outside_the_registry() -> None:
    from harness.registry import PHASES

    found = []
    for path in HARNESS.rglob("*.py"):
        if path.is_relative_to(HARNESS / "registry"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [s for s in _string_constants(node) if s in PHASES]
            if len(names) >= 2:
                found.append(f"{path.relative_to(HARNESS)}:{node.lineno} {names}")
    assert found == []


MAX_PACKAGE_LINES = 3000
"""No package of the harness over 3,000 lines of Python (issue 30): one that grows past it
holds more than one job."""


def test_every_package_stays_under_its_cap() -> None:
    sizes = {
        d.name: sum(len(p.read_text().splitlines()) for p in d.rglob("*.py"))
        for d in HARNESS.iterdir()
        if d.is_dir() and (d / "__init__.py").exists()
    }
    assert "run" in sizes and "stack" in sizes  # the walk found the packages
    big = {name: n for name, n in sizes.items() if n > MAX_PACKAGE_LINES}
    assert big == {}


def test_every_package_is_placed_in_the_layering() -> None:
    packages = {d.name for d in HARNESS.iterdir() if d.is_dir() and (d / "__init__.py").exists()}
    assert packages - set(ALLOWED) - SHARED == set()


MAX_MODULE_LINES = 380
"""No module much over 350 lines (issue 10)."""
MAX_FUNCTION_LINES = 65
"""No function much over 60 lines."""


def test_modules_and_functions_stay_small() -> None:
    big = []
    for path in HARNESS.rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(HARNESS)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            big.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    big.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert big == []


REPORTING = ("guide", "verdicts", "report", "history")
"""The packages that read stored runs into a report (the judgement and its layout)."""


def test_importing_the_report_loads_no_plotting_statistics_or_templates() -> None:
    modules = sorted(
        f"harness.{pkg}." + p.stem if p.stem != "__init__" else f"harness.{pkg}"
        for pkg in REPORTING
        for p in (HARNESS / pkg).glob("*.py")
    )
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(sorted(m for m in ('matplotlib', 'scipy', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"


ROOT = HARNESS.parent
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def _project_texts() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "tox.ini", ARCHITECTURE]
    for folder in ("harness", "tests", "scenarios", ".github", ".ci", "docs"):
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in (".py", ".md", ".toml", ".yml", ".yaml", "")
        ]
    return [p for p in files if "data" not in p.relative_to(ROOT).parts]


def test_every_reference_resolves_inside_the_repository() -> None:
    import re

    section = ARCHITECTURE.read_text().split("## Traps of the stack", 1)[1]
    traps = len(re.findall(r"^\d+\. ", section, flags=re.M))
    assert traps >= 21
    bad = []
    for path in _project_texts():
        text = path.read_text(errors="replace")
        if "DESIGN" + ".md" in text:
            bad.append(f"{path.relative_to(ROOT)} cites a design note outside the repository")
        for ref in re.findall(r"\b((?:docs|scenarios|results)/[\w./-]+\.(?:md|toml))", text):
            if not (ROOT / ref).exists():
                bad.append(f"{path.relative_to(ROOT)} cites {ref}, which does not exist")
        for n in re.findall(r"\btrap (\d+)", text):
            if not 1 <= int(n) <= traps:
                bad.append(f"{path.relative_to(ROOT)} cites trap {n} (there are {traps})")
    assert bad == []


# A record's figures are read through typed attributes only (Record.figs,
# harness.store.figures): a figure read by a string name was a silent None when misspelt.
# The recipes of run/ build an outcome's figures as a dict and may index it while writing.
FIGURES_BY_NAME = r"""\.figures\s*(?:\.get\s*\(|\[)|getattr\([^,()]*\.figures\b"""
FIGURES_WRITERS = ("store/figures.py", "run/recipes/")


def test_no_module_reads_a_records_figures_by_a_string_name() -> None:
    import re

    pattern = re.compile(FIGURES_BY_NAME)
    assert pattern.search('r.figures.get("workers")') and pattern.search("r.figures['log']")
    assert pattern.search('getattr(r.figures, "log")') and not pattern.search("r.figs.log")
    bad = []
    for path in HARNESS.rglob("*.py"):
        rel = path.relative_to(HARNESS).as_posix()
        if rel.startswith(FIGURES_WRITERS):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                bad.append(f"{rel}:{n}: {line.strip()} (read record.figs.<name>)")


def _imported_test_modules(path: Path) -> list[str]:
    """The modules named test_* that ``path`` imports, in any spelling (``test_x``,
    ``tests.test_x``, ``from . import test_x``, ``from tests import test_x``); and any
    module it imports through the ``tests`` package name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names = [base] if base else []
            if base in ("", "tests"):
                names += [f"{base}.{a.name}".lstrip(".") for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[-1].startswith("test_") or parts[0] == "tests":
                found.append(f"{path.name}:{node.lineno} imports {name}")
    return found


def test_test_modules_share_helpers_without_importing_each_other() -> None:
    """Issue 30: a test module imports helper modules (tests/own_shop.py, ...) or takes
    conftest fixtures, never another test module, and imports a helper by its one name:
    pytest puts tests/ on sys.path, so ``tests.x`` would load x a second time."""
    bad = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        bad += _imported_test_modules(path)
    assert bad == []


# Axis values are read through typed attributes (Record.ax, Scenario.ax, ScenarioSamples.ax:
# harness.registry.values.AxisValues): an axis read by a string name was a silent None when
# misspelt. An axis name held as data (``axes[c.axis]``) is no literal and stays allowed.
AXES_BY_NAME = r"""\.axes\s*(?:\.get\s*\(|\[)\s*["']"""
AXES_TYPED = ("compare", "size", "guide", "verdicts", "report", "history", "advise", "store",
              "run/recipes")  # fmt: skip
AXES_BY_NAME_LEFT: dict[str, tuple[str, ...]] = {}
"""Modules allowed a read by name, and of which axes (none today)."""


def test_no_converted_module_reads_axes_by_a_string_name() -> None:
    import re

    pattern = re.compile(AXES_BY_NAME)
    assert pattern.search('r.axes.get("load_mode")') and pattern.search("ctx.axes['cache']")
    assert not pattern.search("s.axes[c.axis]") and not pattern.search("r.ax.load_mode")
    bad = []
    for package in AXES_TYPED:
        for path in (HARNESS / package).rglob("*.py"):
            rel = path.relative_to(HARNESS).as_posix()
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if not pattern.search(line):
                    continue
                if any(f'axes["{a}"]' in line for a in AXES_BY_NAME_LEFT.get(rel, ())):
                    continue
                bad.append(f"{rel}:{n}: {line.strip()} (read .ax.<name>)")
    assert bad == []
