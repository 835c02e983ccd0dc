"""The docs stay true to the code and to the repository: every harness module, class and
function that README.md and docs/*.md name in backticks exists (resolved with ast, without
importing anything), every relative link resolves to a file of the repository, nothing
cites a file outside it, and the README stays a short page for users."""

from __future__ import annotations

import ast
import functools
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "harness"
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

README_MAX_LINES = 260
"""The README is for users; the rest lives in docs/ (issue 30)."""

EXTERNAL_CLASSES = {
    # Cosmos, Airflow, dbt and the standard library, named in the docs beside the harness.
    "DbtDag", "DbtTaskGroup", "ProjectConfig", "RenderConfig", "ExecutionConfig",
    "ProfileConfig", "LoadMode", "InvocationMode", "ExecutionMode", "TestBehavior",
    "EmptyOperator", "ExecuteTask", "DagBag", "DagRun", "ServerResponseError",
    "CosmosValueError", "TOML",
}  # fmt: skip
"""CamelCase names the docs may use that are not harness classes."""
EXTERNAL_MODULES = {"airflow", "cosmos", "dbt", "celery", "kombu", "redis", "duckdb", "psutil"}
"""Packages of the stack the docs name by module (`celery.backends.database.retry`): not
the harness modules of the same last name (those are named in full, `harness.stack.celery`)."""
FILE_SUFFIXES = {
    "html",
    "json",
    "jsonl",
    "toml",
    "md",
    "yml",
    "yaml",
    "log",
    "png",
    "py",
    "lock",
    "msgpack",
    "duckdb",
    "txt",
    "ini",
    "cfg",
}
"""A dotted span ending in one of these is a file name (`run.json`), not a module path."""

PATH_PREFIXES = (
    "harness/",
    "tests/",
    "tools/",
    "scenarios/",
    "docs/",
    ".ci/",
    ".github/",
    "results/baselines/",
)
NOT_COMMITTED = {"results/baselines/nightly"}
"""Paths the docs name as optional (made by hand when wanted, see compare-report.md)."""


# --- the harness, read with ast --------------------------------------------------------


@functools.cache
def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module and package of harness/."""
    out = {}
    for path in HARNESS.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


@functools.cache
def _tree(module: str) -> ast.Module:
    return ast.parse(_modules()[module].read_text())


def _names(body: list[ast.stmt]) -> dict[str, ast.AST]:
    """Names a module or class body defines: functions, classes, assignments (annotated
    too, so dataclass fields count) and imports (a package's re-exports)."""
    out: dict[str, ast.AST] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        out[name.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                out[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, ast.If | ast.Try):
            out.update(_names(node.body))
    return out


def _class_names(cls: ast.ClassDef, module: str) -> dict[str, ast.AST]:
    """A class's own names, and those of its bases defined in the same module."""
    out = {}
    top = _names(_tree(module).body)
    for base in cls.bases:
        if isinstance(base, ast.Name) and isinstance(top.get(base.id), ast.ClassDef):
            out.update(_class_names(top[base.id], module))  # type: ignore[arg-type]
    out.update(_names(cls.body))
    return out


def _resolve_in(module: str, attrs: list[str]) -> bool:
    """Whether ``attrs`` name something in ``module``: a name it defines, then attributes
    of a class; a name of its own submodule; or a field of any class of the module (the
    docs name record fields such as `figures.workers` by their module)."""
    if not attrs:
        return True
    sub = f"{module}.{attrs[0]}"
    if sub in _modules():
        return _resolve_in(sub, attrs[1:])
    defined = _names(_tree(module).body)
    node = defined.get(attrs[0])
    if node is None:
        fields = set()
        for cls in (n for n in _tree(module).body if isinstance(n, ast.ClassDef)):
            fields |= set(_class_names(cls, module))
        return len(attrs) == 1 and attrs[0] in fields
    for attr in attrs[1:]:
        if not isinstance(node, ast.ClassDef):
            return True  # an attribute of a value: not followed
        node = _class_names(node, module).get(attr)
        if node is None:
            return False
    return True


@functools.cache
def _classes() -> dict[str, list[str]]:
    """Class name -> the modules that define it."""
    out: dict[str, list[str]] = {}
    for module in _modules():
        for node in _tree(module).body:
            if isinstance(node, ast.ClassDef):
                out.setdefault(node.name, []).append(module)
    return out


@functools.cache
def _short_modules() -> dict[str, list[str]]:
    """Last part of a module's name (``celery``, ``generate``) -> its dotted names."""
    out: dict[str, list[str]] = {}
    for module in _modules():
        out.setdefault(module.rsplit(".", 1)[-1], []).append(module)
    return out


# --- what the docs name ------------------------------------------------------------------

DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?::[A-Za-z_]\w*)?$")


def _code_spans(text: str) -> list[str]:
    """Inline code of a markdown page (fenced blocks left out), a call's arguments cut."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    spans = []
    for span in re.findall(r"`([^`\n]+)`", text):
        span = span.strip()
        spans.append(re.split(r"[(\[]", span, maxsplit=1)[0] if "(" in span else span)
    return spans


def _imports_in_code_blocks(text: str) -> list[str]:
    """``from harness.x import a, b`` in code blocks, as dotted names."""
    out = []
    for module, names in re.findall(r"from (harness[\w.]*) import ([\w, ]+)", text):
        out += [f"{module}.{n.strip()}" for n in names.split(",") if n.strip()]
    return out


def _bare_references(text: str) -> list[str]:
    """Harness paths and dotted names in the prose, outside backticks too
    (``harness/compare/stats.py``, ``harness.measure.machine_load``): they are unambiguous."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    out = re.findall(r"(?<![\w/.`])(harness/[\w/]*\w(?:\.py)?)", text)
    out += [m.rstrip(".") for m in re.findall(r"(?<![\w/.`])(harness(?:\.[A-Za-z_]\w*)+)", text)]
    return out


def _missing_name(name: str) -> str | None:
    """Why a dotted name the docs give as harness code does not resolve, or None."""
    name = name.replace(":", ".")
    parts = name.split(".")
    if parts[0] in EXTERNAL_MODULES or (len(parts) > 1 and parts[-1] in FILE_SUFFIXES):
        return None
    if parts[0] == "harness":
        for i in range(len(parts), 0, -1):
            module = ".".join(parts[:i])
            if module in _modules():
                return None if _resolve_in(module, parts[i:]) else "not in the harness"
        return "not in the harness"
    if parts[0] in _classes():
        if len(parts) == 1:
            return None
        for module in _classes()[parts[0]]:
            cls = _names(_tree(module).body)[parts[0]]
            if _resolve_in(module, [parts[0], *parts[1:]]) and isinstance(cls, ast.ClassDef):
                return None
        return f"class {parts[0]} has no {'.'.join(parts[1:])}"
    if parts[0][:1].isupper() and any(c.islower() for c in parts[0]):
        if parts[0] in EXTERNAL_CLASSES:
            return None
        return f"no class {parts[0]} in the harness (nor a known external one)"
    if len(parts) > 1 and parts[0] in _short_modules():
        if any(_resolve_in(m, parts[1:]) for m in _short_modules()[parts[0]]):
            return None
        return f"no {'.'.join(parts[1:])} in module {parts[0]}"
    return None  # a record field, a setting, a value: not harness code


def _missing_path(span: str, page: Path) -> str | None:
    """Why a path the docs give in backticks is not in the repository, or None."""
    if any(c in span for c in "<>*{} $") or span.rstrip("/") in NOT_COMMITTED:
        return None
    path = span.rstrip("/")
    if path.startswith(PATH_PREFIXES) and not (ROOT / path).exists():
        return "no such file or folder"
    external = path.split("/", 1)[0] in EXTERNAL_MODULES
    if re.fullmatch(r"[\w/]+\.py", path) and not path.startswith(PATH_PREFIXES) and not external:
        # A short name (`runner.py`, `stack/dagfile.py`): some file of the harness or the
        # tests must end with it.
        found = [
            p
            for p in (*HARNESS.rglob("*.py"), *(ROOT / "tests").rglob("*.py"))
            if p.as_posix().endswith("/" + path)
        ]
        return None if found else "no harness or test file ends with it"
    return None


def test_every_harness_name_the_docs_give_exists() -> None:
    bad = []
    for page in PAGES:
        text = page.read_text()
        rel = page.relative_to(ROOT)
        for span in _code_spans(text):
            why = _missing_path(span, page)
            if why is None and DOTTED.match(span):
                why = _missing_name(span)
            if why:
                bad.append(f"{rel}: `{span}`: {why}")
        for ref in _bare_references(text):
            why = _missing_path(ref, page) if "/" in ref else _missing_name(ref)
            if why:
                bad.append(f"{rel}: {ref}: {why}")
        for name in _imports_in_code_blocks(text):
            why = _missing_name(name)
            if why:
                bad.append(f"{rel}: import {name}: {why}")
    assert bad == [], "\n".join(bad)


def test_the_resolver_finds_what_is_missing() -> None:
    """The check above would catch a name that went away."""
    assert _missing_name("harness.run.runner") is None
    assert _missing_name("harness.report.write_report") is None
    assert _missing_name("generate.is_current") is None
    assert _missing_name("Axis.check") is None
    assert _missing_name("DagRunFigures.task_slot_seconds") is None
    assert _missing_name("harness.registry.figures.figures_from_dict") is not None
    assert _missing_name("harness.run.nowhere") is not None
    assert _missing_name("Axis.no_such_method") is not None
    assert _missing_name("NoSuchClass.method") is not None
    assert _missing_name("generate.no_such_function") is not None
    assert _missing_path("harness/run/runner.py", README) is None
    assert _missing_path("harness/run/no_such.py", README) is not None
    assert _missing_path("recipes/min_worker.py", README) is None
    assert _missing_path("recipes/no_such.py", README) is not None


# --- links and citations -----------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings."""
    out = set()
    for heading in re.findall(r"^#+ (.+)$", page.read_text(), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_every_relative_link_resolves() -> None:
    bad = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            rel = page.relative_to(ROOT)
            if not path.is_relative_to(ROOT):
                bad.append(f"{rel}: {target} is outside the repository")
            elif not path.exists():
                bad.append(f"{rel}: {target} does not exist")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                bad.append(f"{rel}: {target}: no heading #{anchor}")
    assert bad == [], "\n".join(bad)


def _tracked_texts() -> list[Path]:
    """The repository's own text files (not recorded results, test data or lock files)."""
    out = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not out:  # not a git checkout (an unpacked sdist): the folders that hold text
        out = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    keep = (".md", ".py", ".toml", ".yml", ".yaml", ".ini", ".cfg", ".cjs", ".json", "")
    return [
        ROOT / p
        for p in out
        if Path(p).suffix in keep
        and not p.startswith(("results/", "tests/data/", "synthetic_projects/"))
        and "node_modules" not in p
        and not p.endswith(("uv.lock", "package-lock.json"))
        and (ROOT / p).is_file()
    ]


def test_nothing_cites_a_file_outside_the_repository() -> None:
    bad = []
    for path in _tracked_texts():
        text = path.read_text(errors="replace")
        for ref in re.findall(r"(?<![\w./])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*)", text):
            # Relative to the file, or to the repository's root (where commands run).
            inside = [(base / ref).resolve() for base in (path.parent, ROOT)]
            if not any(p.is_relative_to(ROOT) for p in inside):
                bad.append(f"{path.relative_to(ROOT)} cites {ref}, outside the repository")
    assert bad == [], "\n".join(bad)


def test_the_readme_is_short_and_keeps_what_ci_and_others_rely_on() -> None:
    text = README.read_text()
    lines = len(text.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/"
    # .ci/run runs exactly this command; the sizing table is filled in between the markers.
    assert "python -m pip install tox-uv && tox -e py" in text
    assert text.count("<!-- sizing:begin -->") == 1 and text.count("<!-- sizing:end -->") == 1
    assert "## How big a worker" in text
    assert "tox -e py" in (ROOT / ".ci" / "run").read_text()
