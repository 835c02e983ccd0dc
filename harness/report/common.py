"""Small helpers shared by the report's sections: sizes, configuration labels, units."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.compare.samples import ScenarioSamples

MIB = 1024 * 1024
GIB = 1024 * MIB


def size_sort_key(size: int | str | None) -> tuple[int, int, str]:
    """No project first, then model counts ascending, then user projects by name."""
    if size is None:
        return (0, 0, "")
    if isinstance(size, int):
        return (1, size, "")
    return (2, 0, size)


def size_label(size: int | str | None) -> str:
    """A size as text: "no project" (import), "100 models", or a user project's path."""
    if size is None:
        return "no project"
    return f"{size} models" if isinstance(size, int) else str(size)


def sorted_sizes(sizes: Iterable[int | str | None]) -> list[int | str | None]:
    """Distinct sizes in report order."""
    return sorted(set(sizes), key=size_sort_key)


def fmt_axis(name: str, value: Any) -> str:
    """An axis value as text, e.g. "partial_parse=on", "load_mode=DBT_LS"."""
    if isinstance(value, bool):
        value = "on" if value else "off"
    return f"{name}={value}"


def varying_axes(scenarios: Iterable[ScenarioSamples]) -> list[str]:
    """Option axes that take more than one value among ``scenarios`` (in first-seen order)."""
    seen: dict[str, set[str]] = {}
    for s in scenarios:
        for k, v in s.config.items():
            seen.setdefault(k, set()).add(repr(v))
    return [k for k, vals in seen.items() if len(vals) > 1]


def config_label(config: dict[str, Any], axes: list[str]) -> str:
    """The values of ``axes`` in ``config`` (the ones that tell configurations apart)."""
    parts = [fmt_axis(k, config.get(k)) for k in axes if config.get(k) is not None]
    return ", ".join(parts) or "(the only configuration)"


def fmt_mib(value: float) -> str:
    """Bytes as MiB."""
    return f"{value / MIB:.0f} MiB"


def fmt_s(value: float) -> str:
    """Seconds, with a precision that suits the size."""
    return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"


def fmt_pct(ratio: float) -> str:
    """A ratio as a signed percent."""
    if ratio == float("inf"):
        return "+inf%"
    return f"{(ratio - 1.0) * 100:+.0f}%"
