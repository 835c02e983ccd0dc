"""What a reader of stored runs accepts: JSON of finite numbers and bounded depth, and
values of the types the record's dataclasses declare.

A record line or a run.json is checked here before anything judges it, so that a
hand-edited or damaged file is refused with its place named, not read as
"+inf% worse" or followed by a traceback deep in a report.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from functools import cache
from typing import Any, Literal

MAX_DEPTH = 64
"""Deepest nesting of lists and objects accepted in a record or run.json."""


class BadJson(ValueError):
    """Text that is not JSON of finite numbers within MAX_DEPTH."""


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a number this harness accepts")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"{text} is out of range")
    return value


def loads(text: str) -> Any:
    """JSON ``text`` as Python values; BadJson for NaN, Infinity, numbers out of a
    float's range, nesting deeper than MAX_DEPTH, or malformed text."""
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise BadJson("nested too deeply") from None
    except BadJson:
        raise
    except ValueError as exc:  # json.JSONDecodeError, an integer of too many digits
        raise BadJson(str(exc)) from None
    if _depth(data) > MAX_DEPTH:
        raise BadJson(f"nested deeper than {MAX_DEPTH} levels")
    return data


def _depth(data: Any) -> int:
    """How deep lists and objects nest in ``data`` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                items = value.values() if isinstance(value, dict) else value
                stack.extend((v, level + 1) for v in items)
    return deepest


def type_problem(value: Any, hint: Any, where: str) -> str | None:
    """Why ``value`` is not of the annotated type ``hint`` (None when it is): scalars,
    unions, Literal, list[...], dict[...], dataclasses by their own annotations, Any."""
    if hint is Any:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = typing.get_args(hint)
        problems = [type_problem(value, h, where) for h in kinds]
        if None in problems:
            return None
        # Say what the value should have been, not that it might have been null.
        return next(p for h, p in zip(kinds, problems, strict=True) if h is not type(None))
    if origin is Literal:
        ok = value in typing.get_args(hint)
        return None if ok else f"{where}: {value!r} is not one of {typing.get_args(hint)}"
    if hint is type(None):
        return None if value is None else f"{where}: expected null, got {_kind(value)}"
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            return f"{where}: expected a list, got {_kind(value)}"
        (inner, *_) = typing.get_args(hint) or (Any,)
        return _first(type_problem(v, inner, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            return f"{where}: expected an object, got {_kind(value)}"
        _, inner = typing.get_args(hint) or (str, Any)
        return _first(type_problem(v, inner, f"{where}.{k}") for k, v in value.items())
    if dataclasses.is_dataclass(hint):
        return _dataclass_problem(value, hint, where)
    return _scalar_problem(value, hint, where)


def _scalar_problem(value: Any, hint: Any, where: str) -> str | None:
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            return f"{where}: {value} is not a finite number"
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint)
    return None if ok else f"{where}: expected {hint.__name__}, got {_kind(value)}"


def _dataclass_problem(value: Any, cls: Any, where: str) -> str | None:
    """``value`` (a dataclass instance or its dict) against ``cls``'s annotations."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind: type = type(value) if isinstance(value, cls) else cls
        hints = _hints(kind)
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif isinstance(value, dict):
        hints, fields = _hints(cls), value
    else:
        return f"{where}: expected an object, got {_kind(value)}"
    return _first(
        type_problem(v, hints[k], f"{where}.{k}") for k, v in fields.items() if k in hints
    )


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _first(problems: typing.Iterable[str | None]) -> str | None:
    return next((p for p in problems if p is not None), None)


def _kind(value: Any) -> str:
    """A value's JSON kind, for a message (not the value: it may be huge)."""
    if value is None:
        return "null"
    names = {bool: "true/false", int: "a whole number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def record_problem(data: Any) -> str | None:
    """Why a record line's parsed JSON is not a record this harness can judge (None when
    it is), before it is migrated and built."""
    from harness.registry import PHASES
    from harness.store.record import SCHEMA_VERSION

    if not isinstance(data, dict):
        return f"expected an object, got {_kind(data)}"
    version = data.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        return f"schema_version: expected a whole number, got {_kind(version)}"
    if not 1 <= version <= SCHEMA_VERSION:
        return f"schema_version {version}: this harness reads 1 to {SCHEMA_VERSION}"
    for key in ("run_id", "scenario_id", "phase", "status"):
        if not isinstance(data.get(key), str):
            return f"{key}: expected a string, got {_kind(data.get(key))}"
    if data["phase"] not in PHASES:
        return f"phase: unknown phase {data['phase'][:60]!r}"
    for key in ("axes", "measure", "figures"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key}: expected an object, got {_kind(data[key])}"
    return None


def built_record_problem(record: Any) -> str | None:
    """Why a built Record (harness.store.record) holds values of the wrong type, a
    negative figure of its measurement, or an axis value of the wrong kind (None: fine)."""
    from harness.registry import AXES

    problem = type_problem(record, type(record), "record")
    if problem is not None:
        return problem.removeprefix("record.")
    if record.repetition < 0:
        return f"repetition: must be at least 0, got {record.repetition}"
    m = record.measure
    if m is not None:
        for name in ("wall_s", "user_cpu_s", "system_cpu_s", "peak_tree_bytes",
                     "peak_single_bytes", "processes_seen", "limit_bytes"):  # fmt: skip
            value = getattr(m, name)
            if value is not None and value < 0:
                return f"measure.{name}: must not be negative, got {value}"
    for name, value in record.axes.items():
        axis = AXES.get(name)
        if axis is not None and value is not None:
            kind = float if axis.kind is float else axis.kind
            problem = _scalar_problem(value, kind, f"axes.{name}")
            if problem is not None:
                return problem
    return None
