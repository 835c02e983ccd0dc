"""The leak check: the soak phase's fit of RSS growth task after task, per record."""

from __future__ import annotations

from dataclasses import dataclass

from harness.compare.configs import size_sort_key
from harness.compare.samples import ScenarioSamples
from harness.store import figures as fig
from harness.store.figures import Figs


@dataclass(frozen=True)
class Soak:
    """One soak record: the growth fit the soak phase made of its RSS series."""

    scenario_id: str
    repetition: int
    size: int | str | None
    invocation: str | None
    partial_parse: bool | None
    status: str
    reason: str | None
    figures: Figs
    """The record's figures as the soak phase wrote them (growth_per_task_kib, ...)."""

    @property
    def label(self) -> str:
        """The invocation and the parse, e.g. "DBT_RUNNER, partial parse"."""
        if self.partial_parse is None:
            return str(self.invocation)
        return f"{self.invocation}, {'partial' if self.partial_parse else 'full'} parse"

    @property
    def rss_mib(self) -> list[float]:
        """RSS after each task (index 0: before the first), MiB."""
        return fig.numbers(self.figures.rss_mib or [])

    @property
    def warmup(self) -> int:
        """Tasks the fit left out."""
        return int(self.figures.warmup_tasks or 0)

    @property
    def growth_kib(self) -> float | None:
        """Least-squares growth of RSS per task after the warm-up, KiB."""
        return fig.number(self.figures.growth_per_task_kib)

    @property
    def leak(self) -> bool | None:
        """The soak phase's flag: growth above 1 MiB per task."""
        flag = self.figures.leak_flag
        return flag if isinstance(flag, bool) else None


def soaks(scenarios: dict[str, ScenarioSamples]) -> list[Soak]:
    """Every soak record, ordered by size, invocation and partial parse."""
    out = []
    for s in scenarios.values():
        if s.phase != "soak":
            continue
        for r in s.records:
            f = r.figs
            size = f.models if isinstance(f.models, int) else s.size
            invocation = s.ax.execution_invocation or f.invocation
            # A soak record always has the axis (it acts in every soak); the figure is
            # the process's own account of it, for a record that lacks the axis.
            pp = f.partial_parse if s.ax.partial_parse is None else s.ax.partial_parse
            out.append(
                Soak(
                    s.scenario_id,
                    r.repetition,
                    size,
                    invocation,
                    pp if isinstance(pp, bool) else None,
                    r.status,
                    r.reason,
                    f,
                )
            )
    return sorted(
        out,
        key=lambda k: (
            size_sort_key(k.size),
            str(k.invocation),
            not k.partial_parse,
            k.scenario_id,
            k.repetition,
        ),
    )
