"""The report's figures, drawn with matplotlib's Agg backend (no display, no pyplot
global state) and kept as PNG bytes, so the HTML can embed them as data URIs.

  - peak memory and wall time against the number of models, one line per value of
    each option that varies in a phase (the median over the other options);
  - memory against time of every configuration at each size, the Pareto front
    (nothing else both lighter and faster) marked;
  - the load test: wall time, peak memory and task-slot-seconds against concurrency
    per size, one line per configuration; RSS over the task index of each soak.
"""

from __future__ import annotations

import base64
import io
import re
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.compare.configs import (
    ConfigKey,
    axes_key,
    config_label,
    fmt_axis,
    size_label,
    size_sort_key,
    successful,
    varying_axes,
)
from harness.compare.format import MIB
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Spread
from harness.registry import PHASES

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not before
    from matplotlib.figure import Figure

    from harness.verdicts.soak import Soak
    from harness.verdicts.sweep import Sweep

LINE_PHASES = tuple(p.name for p in PHASES.values() if p.size_plot)
PARETO_PHASES = tuple(p.name for p in PHASES.values() if p.pareto)
DPI = 90


@dataclass(frozen=True)
class Plot:
    """One PNG figure with its title and what it shows."""

    name: str
    """file stem, unique in the report."""
    title: str
    caption: str
    png: bytes
    legend: tuple[str, ...] = ()
    """Numbered labels for points marked with numbers (Pareto plots)."""

    @property
    def file_name(self) -> str:
        """A safe file name for the PNG (a user project's path may be in the name)."""
        return re.sub(r"[^A-Za-z0-9_.=-]", "_", self.name) + ".png"

    @property
    def data_uri(self) -> str:
        """The PNG as a data: URI (self-contained HTML)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def new_figure(**kwargs: Any) -> Figure:
    """A matplotlib Figure on the Agg canvas (matplotlib imported here, on first use)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both x and y (lower is better)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best_y = [], float("inf")
    for i in order:
        if points[i][1] < best_y:
            front.append(i)
            best_y = points[i][1]
    return front


Point = tuple[float, float]
"""(median peak memory in MiB, median wall time in s) of one configuration at one size."""


def _points(of: list[ScenarioSamples]) -> dict[tuple[ConfigKey, int], Point]:
    """(configuration, size) -> its point; sampled tasks of one configuration: the heaviest."""
    out: dict[tuple[ConfigKey, int], Point] = {}
    for s in of:
        if not isinstance(s.size, int):
            continue
        key = (axes_key(s.config), s.size)
        mem = statistics.median(s.values["memory"]) / MIB
        if key not in out or mem > out[key][0]:
            out[key] = (mem, statistics.median(s.values["time"]))
    return out


def _fixed_lines(
    of: list[ScenarioSamples], axis: str
) -> tuple[dict[str, dict[int, Point]], dict[str, object]]:
    """The values of ``axis`` as lines, every other option held at one set of values: the
    set under which the most points of two or more values of ``axis`` were measured."""
    groups: dict[ConfigKey, dict[str, dict[int, Point]]] = {}
    configs: dict[ConfigKey, dict[str, object]] = {}
    by_key = {axes_key(s.config): s.config for s in of}
    for (key, size), point in _points(of).items():
        config = by_key[key]
        if config.get(axis) is None:
            continue
        rest = axes_key(config, (axis,))
        line = groups.setdefault(rest, {}).setdefault(fmt_axis(axis, config[axis]), {})
        line[size] = point
        configs[rest] = config
    usable = [r for r, lines in groups.items() if len(lines) > 1]
    if not usable:
        return {}, {}
    best = max(usable, key=lambda r: sum(len(v) for v in groups[r].values()))
    return groups[best], configs[best]


def line_plots(scenarios: dict[str, ScenarioSamples]) -> list[Plot]:
    """Memory and time against the number of models, per phase and varying option, one
    line per value of the option with every other option held fixed."""
    plots = []
    for phase in LINE_PHASES:
        of = [s for s in scenarios.values() if s.phase == phase and successful(s)]
        of = [s for s in of if isinstance(s.size, int)]
        if not of:
            continue
        axes = varying_axes(of)
        for axis in axes or [""]:
            if axis:
                lines, held = _fixed_lines(of, axis)
            else:
                lines = {"the only configuration": {k[1]: p for k, p in _points(of).items()}}
                held = {}
            if not lines:
                continue
            fixed = config_label(held, [a for a in axes if a != axis]) if held else ""
            plots.append(_line_plot(phase, axis, lines, fixed))
    return plots


def _line_plot(phase: str, axis: str, lines: dict[str, dict[int, Point]], fixed: str) -> Plot:
    sizes = sorted({size for line in lines.values() for size in line})
    fig = new_figure(figsize=(9, 3.4))
    ax_mem, ax_time = fig.subplots(1, 2)
    for label, line in sorted(lines.items()):
        xs = sorted(line)
        ax_mem.plot(xs, [line[x][0] for x in xs], marker="o", label=label)
        ax_time.plot(xs, [line[x][1] for x in xs], marker="o", label=label)
    for ax, ylabel in ((ax_mem, "peak memory (MiB)"), (ax_time, "wall time (s)")):
        ax.set_xlabel("models")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if len(sizes) > 1 and sizes[-1] / max(sizes[0], 1) >= 10:
            ax.set_xscale("log")
        ax.set_xticks(sizes, [str(x) for x in sizes])
        ax.minorticks_off()
    ax_time.legend(fontsize=8, loc="best")
    what = f"by {axis}" if axis else "one configuration"
    fig.suptitle(f"{phase}: {what}", fontsize=10)
    held = f" The other options held at: {fixed}." if fixed else ""
    return Plot(
        f"lines-{phase}-{axis or 'all'}",
        f"{phase}: peak memory and wall time, {what}",
        "Medians over the repetitions (the heaviest sampled task for the task phase)." + held,
        _png(fig),
    )


def pareto_plots(scenarios: dict[str, ScenarioSamples]) -> list[Plot]:
    """Memory against time of each configuration, per phase and size, Pareto front marked."""
    plots = []
    for phase in PARETO_PHASES:
        # the configurations the recommendations consider: every repetition succeeded
        of = [s for s in scenarios.values() if s.phase == phase and successful(s)]
        axes = varying_axes(of)
        for size in sorted({s.size for s in of}, key=size_sort_key):
            at = [s for s in of if s.size == size]
            if len(at) < 2:
                continue
            pts = [
                (statistics.median(s.values["time"]), statistics.median(s.values["memory"]) / MIB)
                for s in at
            ]
            front = pareto_front(pts)
            fig = new_figure(figsize=(6.5, 4))
            ax = fig.subplots()
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], color="0.6", label="configuration")
            fx = [pts[i][0] for i in front]
            fy = [pts[i][1] for i in front]
            ax.step(fx, fy, where="post", color="tab:red", alpha=0.6)
            ax.scatter(fx, fy, color="tab:red", zorder=3, label="Pareto front")
            legend = []
            for n, i in enumerate(front, 1):
                ax.annotate(str(n), pts[i], textcoords="offset points", xytext=(4, 4), fontsize=8)
                role = at[i].ax.task_role
                legend.append(
                    config_label(at[i].config, axes) + (f" (task: {role})" if role else "")
                )
            ax.set_xlabel("wall time (s)")
            ax.set_ylabel("peak memory (MiB)")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
            fig.suptitle(f"{phase}, {size_label(size)}: memory against time", fontsize=10)
            plots.append(
                Plot(
                    f"pareto-{phase}-{size}",
                    f"{phase}, {size_label(size)}: memory against time",
                    "Each point is one configuration (medians); red: the Pareto front, numbered"
                    " below.",
                    _png(fig),
                    tuple(legend),
                )
            )
    return plots


def _median_mib(sp: Spread | None) -> float:
    return sp.median / MIB if sp else float("nan")


def concurrency_plots(sweeps: list[Sweep], cores: int | None) -> list[Plot]:
    """Wall time, peak memory and task-slot-seconds against concurrency, one figure per
    size, one line per configuration; the machine's core count marked."""
    plots = []
    for size in sorted({w.size for w in sweeps}, key=size_sort_key):
        at = [w for w in sweeps if w.size == size]
        # constrained layout: the legend goes below the three panels, outside them
        fig = new_figure(figsize=(11, 3.6 + 0.2 * len(at)), layout="constrained")
        axs = fig.subplots(1, 3)
        ticks = sorted({p.concurrency for w in at for p in w.points})
        for w in at:
            xs = [p.concurrency for p in w.points]
            nan = float("nan")  # a concurrency where every repetition failed: a gap
            series = (
                [p.time.median if p.time else nan for p in w.points],
                [_median_mib(p.memory) for p in w.points],
                [p.slots.median if p.slots else nan for p in w.points],
            )
            for ax, ys in zip(axs, series, strict=True):
                (line,) = ax.plot(xs, ys, marker="o", label=w.label)
            if w.stops_after is not None:  # ring the point beyond which more stops paying
                knee = xs.index(w.stops_after)
                axs[0].scatter(
                    [w.stops_after],
                    [series[0][knee]],
                    s=160,
                    facecolors="none",
                    edgecolors=line.get_color(),
                    linewidths=1.5,
                    zorder=3,
                )
        labels = ("wall time (s)", "peak memory (MiB)", "task-slot-seconds")
        for ax, ylabel in zip(axs, labels, strict=True):
            ax.set_xscale("log", base=2)
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.minorticks_off()
            ax.set_xlabel("concurrency")
            ax.set_ylabel(ylabel)
            ax.grid(True, alpha=0.3)
            if cores:
                ax.axvline(cores, color="0.5", linestyle="--", linewidth=1)
        fig.legend(*axs[0].get_legend_handles_labels(), loc="outside lower center", fontsize=8)
        fig.suptitle(f"dag_run, {size_label(size)}: against concurrency", fontsize=10)
        plots.append(
            Plot(
                f"concurrency-{size}",
                f"dag_run, {size_label(size)}: wall time, peak memory and task-slot-seconds "
                "against concurrency",
                "Medians over the repetitions; ringed: the concurrency beyond which more stops"
                " paying" + (f"; dashed: the machine's {cores} logical cores." if cores else "."),
                _png(fig),
            )
        )
    return plots


def soak_plot(runs: list[Soak]) -> list[Plot]:
    """RSS after each task of every soak (the warm-up left out of the fit shaded)."""
    drawn = [k for k in runs if len(k.rss_mib) > 1]
    if not drawn:
        return []
    fig = new_figure(figsize=(8, 3.6))
    ax = fig.subplots()
    for k in drawn:
        label = f"{k.label}, {size_label(k.size)}"
        ax.plot(range(len(k.rss_mib)), k.rss_mib, linewidth=1, label=label)
    ax.axvspan(0, max(k.warmup for k in drawn), color="0.9", label="warm-up (not fitted)")
    ax.set_xlabel("task index (0: before the first task)")
    ax.set_ylabel("RSS of the process (MiB)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.suptitle("soak: memory after each task", fontsize=10)
    return [
        Plot(
            "soak-rss",
            "soak: RSS after each task",
            "One long-lived process per line; the growth per task is the slope after the"
            " shaded warm-up.",
            _png(fig),
        )
    ]
