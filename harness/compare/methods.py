"""Which scenarios two runs measured by different versions of their recipe's method.

Every record carries the version of the method that measured it
(``Record.method_version``, declared by ``Phase.method_version``). As asv keeps a
version of each benchmark's code in every result and will not compare across it, a
scenario whose BASE and NEW were measured by different versions is flagged and left
out of the verdict and the gate: its figures may mean different things.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.compare.samples import ScenarioSamples


def _versions(values: Iterable[int]) -> str:
    return "/".join(f"v{v}" for v in sorted(values)) or "none"


def method_change(phase: str, base: ScenarioSamples, new: ScenarioSamples) -> str | None:
    """The note of a scenario measured by different method versions in BASE and NEW
    ("method changed: dag_run's recipe v1 in BASE, v2 in NEW, not compared"), or None."""
    if base.methods == new.methods:
        return None
    return (
        f"method changed: {phase}'s recipe {_versions(base.methods)} in BASE, "
        f"{_versions(new.methods)} in NEW, not compared"
    )


def method_warning(changed: list[str]) -> list[str]:
    """One warning line naming the scenarios left out for a changed method ([] if none)."""
    if not changed:
        return []
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return [
        f"{len(changed)} scenario(s) measured by different method versions of their recipe, "
        f"left out of the verdict: {shown}"
    ]
