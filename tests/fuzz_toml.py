"""A small TOML writer for the property-based tests: any value hypothesis makes (NaN,
infinities, huge integers, NUL bytes, nested lists and tables) as TOML text."""

from __future__ import annotations

import math
from typing import Any


def string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def value(v: Any) -> str:
    """One TOML value (inline: lists and tables on one line)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{string(k)} = {value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(doc: dict[str, Any]) -> str:
    """A document: its scalars at the top, then ``matrix`` as [[matrix]] tables."""
    lines = [f"{string(k)} = {value(v)}" for k, v in doc.items() if k != "matrix"]
    matrices = doc.get("matrix", [])
    if not isinstance(matrices, list) or not all(isinstance(t, dict) for t in matrices):
        return "\n".join([*lines, f"matrix = {value(matrices)}"]) + "\n"
    for table in matrices:
        lines.append("[[matrix]]")
        lines += [f"{string(k)} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
