"""harness registry: the phases and axes as declared, as markdown tables.

The README's tables of phases and axes are this command's output, so they cannot
drift from the declarations (tests/test_registry.py checks it).
"""

from __future__ import annotations

import argparse

from harness.registry import AXES, PHASES
from harness.registry.axes import Axis


def phases_table() -> str:
    """One row per phase: what it measures, the axes that shape it, its report section."""
    rows = ["| phase | measures | shaped by | report section |", "|---|---|---|---|"]
    for p in PHASES.values():
        axes = ", ".join(f"`{a}`" for a in p.axes)
        rows.append(f"| `{p.name}` | {p.doc} | {axes} | {p.report_section} |")
    return "\n".join(rows)


def axes_table() -> str:
    """One row per axis: values, default, how it reaches the stack, phases it shapes."""
    rows = [
        "| axis | values | default | reaches | what it sets | phases |",
        "|---|---|---|---|---|---|",
    ]
    for a in AXES.values():
        default = str(a.default).lower() if isinstance(a.default, bool) else a.default
        phases = ", ".join(p for p in PHASES if p in a.phases)
        rows.append(
            f"| `{a.name}` | {a.doc_values()} | `{default}` | {_reaches(a)} | {a.doc} | {phases} |"
        )
    return "\n".join(rows)


def _reaches(axis: Axis) -> str:
    """How an axis reaches the stack, with what it sets (Axis.sets) for an env or config axis."""
    sets = ", ".join(f"`{s.name}`" + (f" (by {s.by})" if s.by else "") for s in axis.sets)
    return f"{axis.reaches}: {sets}" if sets else axis.reaches


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the command prints both tables."""


def run(args: argparse.Namespace) -> int:
    """Print the phases and the axes."""
    print(phases_table())
    print()
    print(axes_table())
    return 0
