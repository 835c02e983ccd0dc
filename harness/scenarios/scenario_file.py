"""Read a scenario file (TOML) into matrices, refusing bad input with one line.

A file holds run settings at the top, optional ``[defaults]`` for the axes, and
one or more ``[[matrix]]`` tables. In a matrix every axis takes one value or a
list; the runner measures the cartesian product. Example: scenarios/smoke.toml.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.generate.graph import MAX_MODELS, MIN_MODELS, SHAPES
from harness.registry import AXES, PHASES
from harness.scenarios.model import ProjectSpec
from harness.scenarios.own import own_project_path

TOP_KEYS = {
    "description",
    "repetitions",
    "timeout_s",
    "task_sample",
    "bisect_steps",
    "defaults",
    "matrix",
}
PROJECT_KEYS = {"models", "shape", "seed", "project", "profile", "prepare"}
OWN_PROJECT_KEYS = {"project", "profile", "prepare"}
"""Also allowed in [defaults]; a matrix that names a synthetic size does not inherit them."""
MATRIX_KEYS = {"name", "phases", "repetitions"} | PROJECT_KEYS | set(AXES)
MAX_REPETITIONS = 1000
MAX_TIMEOUT_S = 366 * 86_400
"""A measurement's timeout: at most a year, as `harness measure --timeout`."""
MAX_TASK_SAMPLE = 1000
MAX_SEED = 2**32


@dataclass(frozen=True)
class MatrixSpec:
    """One [[matrix]] table, validated: the values of every axis."""

    name: str
    phases: tuple[str, ...]
    repetitions: int
    projects: tuple[ProjectSpec, ...]
    axes: dict[str, tuple[Any, ...]]


@dataclass(frozen=True)
class ScenarioFile:
    """A whole scenario file, validated."""

    path: Path
    text: str
    description: str
    repetitions: int
    timeout_s: float
    task_sample: int
    bisect_steps: int = 8
    """min_worker: at most this many halvings of the limit interval."""
    matrices: tuple[MatrixSpec, ...] = field(default_factory=tuple)


def load_scenario_file(path: Path) -> ScenarioFile:
    """Parse and validate ``path``; raise UsageError naming the file and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read scenario file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: malformed TOML: {exc}") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise UsageError(f"{path}: malformed TOML: {str(exc).split(';')[0]}") from None
    return parse_scenarios(data, path, text)


def parse_scenarios(data: dict[str, Any], path: Path, text: str = "") -> ScenarioFile:
    """Validate an already-parsed TOML document."""
    where = str(path)
    _no_unknown(data, TOP_KEYS, where)
    repetitions = _int(data.get("repetitions", 1), f"{where}: repetitions", 1, MAX_REPETITIONS)
    timeout_s = _number(data.get("timeout_s", 1800), f"{where}: timeout_s", MAX_TIMEOUT_S)
    task_sample = _int(data.get("task_sample", 3), f"{where}: task_sample", 1, MAX_TASK_SAMPLE)
    bisect_steps = _int(data.get("bisect_steps", 8), f"{where}: bisect_steps", 1, 64)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise UsageError(f"{where}: defaults: must be a table")
    _no_unknown(defaults, set(AXES) | OWN_PROJECT_KEYS, f"{where}: defaults")
    matrices = data.get("matrix")
    if not isinstance(matrices, list) or not matrices:
        raise UsageError(f"{where}: matrix: at least one [[matrix]] table is needed")
    specs = []
    for i, table in enumerate(matrices):
        if not isinstance(table, dict):
            raise UsageError(f"{where}: matrix[{i}]: must be a table")
        if not set(table) - {"name"} and not defaults:
            # An empty table with no [defaults] would silently mean every phase of every
            # axis's default; with [defaults] the file says what it wants.
            raise UsageError(f"{where}: matrix[{i}]: empty; name its phases or an axis")
        specs.append(_matrix(table, defaults, repetitions, f"{where}: matrix[{i}]", path.parent))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"{where}: matrix.name: names must be unique, got {names}")
    return ScenarioFile(
        path=path,
        text=text,
        description=str(data.get("description", "")),
        repetitions=repetitions,
        timeout_s=timeout_s,
        task_sample=task_sample,
        bisect_steps=bisect_steps,
        matrices=tuple(specs),
    )


def _matrix(
    table: dict[str, Any], defaults: dict[str, Any], repetitions: int, where: str, base: Path
) -> MatrixSpec:
    _no_unknown(table, MATRIX_KEYS, where)
    name = str(table.get("name", where.rsplit(" ", 1)[-1]))
    phases = tuple(_list(table.get("phases", list(PHASES))))
    for phase in phases:
        if not isinstance(phase, str):
            raise UsageError(f"{where}.phases: expected phase names, got {_show(phase)}")
        if phase not in PHASES:
            raise UsageError(
                f"{where}.phases: unknown phase {phase!r} (known: {', '.join(PHASES)})"
            )
    if not phases:
        raise UsageError(f"{where}.phases: empty")
    reps = _int(table.get("repetitions", repetitions), f"{where}.repetitions", 1, MAX_REPETITIONS)
    axes: dict[str, tuple[Any, ...]] = {}
    for axis_name, axis in AXES.items():
        raw = table.get(axis_name, defaults.get(axis_name, axis.default))
        values = _list(raw)
        if not values:
            raise UsageError(f"{where}.{axis_name}: empty list")
        for value in values:
            _check_axis_value(axis_name, value, f"{where}.{axis_name}")
        axes[axis_name] = tuple(dict.fromkeys(values))
    projects = _projects(_with_own(table, defaults), where, base)
    if any(p.path for p in projects) and any(axes["task_groups"]):
        raise UsageError(
            f"{where}.task_groups: needs a generated project, whose models carry the slice "
            "tags the groups select; a project of your own has none"
        )
    return MatrixSpec(name, phases, reps, projects, axes)


def _with_own(table: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    if {"models", "shape", "seed"} & set(table):
        return table
    return {**{k: defaults[k] for k in OWN_PROJECT_KEYS & set(defaults)}, **table}


def _projects(table: dict[str, Any], where: str, base: Path) -> tuple[ProjectSpec, ...]:
    profile = table.get("profile", "harness")
    prepare = table.get("prepare")
    if prepare is not None and (not isinstance(prepare, str) or not prepare.strip()):
        raise UsageError(f"{where}.prepare: expected a command string, got {_show(prepare)}")
    if prepare is not None and "\0" in prepare:
        raise UsageError(f"{where}.prepare: the command holds a NUL byte")
    if profile not in ("harness", "project"):
        raise UsageError(f"{where}.profile: must be 'harness' or 'project', got {profile!r}")
    if "project" in table:
        clash = {"models", "shape", "seed"} & set(table)
        if clash:
            raise UsageError(f"{where}.project: cannot be combined with {', '.join(sorted(clash))}")
        paths = _list(table["project"])
        out = []
        for raw in paths:
            if not isinstance(raw, str):
                raise UsageError(f"{where}.project: must be a path string, got {_show(raw)}")
            path = own_project_path(base, raw, f"{where}.project")
            out.append(ProjectSpec(path=str(path), profile=profile, prepare=prepare))
        return tuple(out)
    if "profile" in table and profile != "harness":
        raise UsageError(f"{where}.profile: 'project' needs project = PATH")
    if prepare is not None:
        raise UsageError(f"{where}.prepare: needs project = PATH (a synthetic project has none)")
    models = [
        _int(m, f"{where}.models", MIN_MODELS) for m in _list(table.get("models", [MIN_MODELS]))
    ]
    for m in models:
        if m > MAX_MODELS:
            raise UsageError(f"{where}.models: at most {MAX_MODELS}, got {m}")
    shapes = _list(table.get("shape", ["layered"]))
    for shape in shapes:
        if not isinstance(shape, str) or shape not in SHAPES:
            raise UsageError(
                f"{where}.shape: unknown shape {_show(shape)} (known: {', '.join(SHAPES)})"
            )
    seeds = [_int(s, f"{where}.seed", 0, MAX_SEED) for s in _list(table.get("seed", [0]))]
    return tuple(
        ProjectSpec(models=m, shape=sh, seed=se) for m in models for sh in shapes for se in seeds
    )


def _check_axis_value(name: str, value: Any, where: str) -> None:
    problem = AXES[name].check(value)
    if problem is not None:
        raise UsageError(f"{where}: {problem[:200]}")


def _list(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else [raw]


def _int(raw: Any, where: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise UsageError(f"{where}: expected a whole number, got {_show(raw)}")
    if raw < minimum:
        raise UsageError(f"{where}: must be at least {minimum}, got {_show(raw)}")
    if maximum is not None and raw > maximum:
        raise UsageError(f"{where}: must be at most {maximum}, got {_show(raw)}")
    return raw


def _number(raw: Any, where: str, maximum: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < math.inf:
        raise UsageError(f"{where}: expected a finite positive number, got {_show(raw)}")
    if raw > maximum:
        raise UsageError(f"{where}: must be at most {maximum:.0f}, got {_show(raw)}")
    return float(raw)


def _show(value: Any, keep: int = 60) -> str:
    """A value for a message, cut when long (a number of a thousand digits, a table)."""
    text = repr(value)
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"


def _no_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
