"""Plain JSON data into nested dataclasses and back, checked against their type hints.

Used by run.json's ``RunInfo`` (harness.store.runinfo): a value of the wrong type is a
``TypeError`` naming its key; keys a dataclass does not declare go into its ``extra``
field (when it has one), so nothing written by another harness version is lost.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, Union

T = TypeVar("T")


def _kind(value: Any) -> str:
    return type(value).__name__


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as ``hint`` says (nested dataclasses built), or TypeError."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, where)
            except TypeError as exc:
                errors.append(str(exc))
        raise TypeError(errors[0] if errors else f"{where}: unexpected {_kind(value)}")
    if dataclasses.is_dataclass(hint):
        return from_plain(hint, value, where)  # type: ignore[arg-type]
    if origin is list:
        if not isinstance(value, list):
            raise TypeError(f"{where}: expected a list, got {_kind(value)}")
        (item,) = typing.get_args(hint) or (Any,)
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise TypeError(f"{where}: expected an object, got {_kind(value)}")
        args = typing.get_args(hint)
        if not args:
            return value
        return {k: _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool):
        raise TypeError(f"{where}: expected int, got bool")
    if isinstance(hint, type) and not isinstance(value, hint):
        raise TypeError(f"{where}: expected {hint.__name__}, got {_kind(value)}")
    return value


def from_plain(cls: type[T], data: Any, where: str = "") -> T:
    """An instance of the dataclass ``cls`` from the JSON object ``data`` (TypeError,
    naming the key, when a value has the wrong type)."""
    if not isinstance(data, dict):
        raise TypeError(f"{where or cls.__name__}: expected an object, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    extra = {k: v for k, v in data.items() if k not in names}
    for name in names - {"extra"}:
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{where}.{name}".lstrip("."))
    if "extra" in names:
        kwargs["extra"] = extra
    return cls(**kwargs)


def to_plain(obj: Any) -> Any:
    """The JSON value of a dataclass built by :func:`from_plain` (``extra`` merged back)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return {**out.pop("extra", {}), **out}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj
