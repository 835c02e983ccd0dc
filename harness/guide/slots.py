"""Concurrency's row of the guide: what a slot costs, not a direction.

That fewer tasks at once take less memory is true by construction; what a user sizing
a worker needs is the price of each extra slot and what it buys in time. For every
configuration measured at two concurrencies or more (the same scenario but for the
axis, ok repetitions only), a least-squares line of the peak (MiB) and of the wall
time (s) against the concurrency (harness.compare.stats.slope, every repetition a
point): its slope is the cost per extra slot, with the 95% interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.compare.configs import axes_key, config_label, size_sort_key, successful
from harness.compare.format import MIB
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Slope, slope
from harness.guide.options import GuideOption


@dataclass(frozen=True)
class SlotCost:
    """One configuration at one size: peak and time against the concurrency."""

    size: int | str | None
    label: str
    """The other options that tell this configuration from the size's others."""
    values: tuple[int, ...]
    """The concurrencies measured."""
    memory: Slope | None
    """MiB per extra slot."""
    time: Slope | None
    """Seconds per extra slot (negative: time saved)."""


def _fit(group: list[ScenarioSamples], axis: str, metric: str, scale: float) -> Slope | None:
    x = [float(s.axes[axis]) for s in group for _ in s.values.get(metric, [])]
    y = [v / scale for s in group for v in s.values.get(metric, [])]
    return slope(x, y)


def slot_costs(option: GuideOption, scenarios: dict[str, ScenarioSamples]) -> list[SlotCost]:
    """The fitted cost per slot of every configuration measured at several values of the
    option's axis (its contrasts' phases), by size."""
    out = []
    for c in option.contrasts:
        groups: dict[tuple[object, ...], list[ScenarioSamples]] = {}
        for s in scenarios.values():
            if s.phase != c.phase or not successful(s) or s.axes.get(c.axis) is None:
                continue
            if s.ax.cosmos_version is not None:
                continue
            key = (size_sort_key(s.size), axes_key(s.axes, {c.axis, *c.ignore}))
            groups.setdefault(key, []).append(s)
        keys = sorted(groups, key=repr)
        differing = _differing([groups[k][0] for k in keys], c.axis)
        for k in keys:
            group = groups[k]
            values = tuple(sorted({int(s.axes[c.axis]) for s in group}))
            if len(values) < 2:
                continue
            out.append(
                SlotCost(
                    group[0].size,
                    config_label(group[0].config, differing),
                    values,
                    _fit(group, c.axis, "memory", MIB),
                    _fit(group, c.axis, "time", 1.0),
                )
            )
    return sorted(out, key=lambda s: (size_sort_key(s.size), s.label))


def _differing(firsts: list[ScenarioSamples], axis: str) -> list[str]:
    seen: dict[str, set[str]] = {}
    for s in firsts:
        for k, v in s.config.items():
            seen.setdefault(k, set()).add(repr(v))
    return [k for k, vals in seen.items() if len(vals) > 1 and k != axis]


def _slope_text(fit: Slope | None, metric: str, unit: str) -> str | None:
    if fit is None:
        return None
    ci = " (2 points: no CI)"
    if fit.ci_low is not None and fit.ci_high is not None:
        ci = f" (CI {fit.ci_low:+.1f}..{fit.ci_high:+.1f})"
    return f"{metric} {fit.slope:+.1f} {unit} per extra slot{ci}"


def slot_lines(cost: SlotCost) -> list[str]:
    """The cell text of one configuration's fit."""
    head = [] if cost.label == "(the only configuration)" else [f"{cost.label}:"]
    lines = [
        _slope_text(cost.memory, "memory", "MiB"),
        _slope_text(cost.time, "time", "s"),
        f"at {', '.join(map(str, cost.values))} slots, {cost.memory.n if cost.memory else 0} runs",
    ]
    return head + [line for line in lines if line]
