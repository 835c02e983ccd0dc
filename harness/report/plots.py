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

from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Spread
from harness.report.common import (
    MIB,
    config_label,
    fmt_axis,
    size_label,
    size_sort_key,
    varying_axes,
)

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not before
    from matplotlib.figure import Figure

    from harness.report.soak import Soak
    from harness.report.sweep import Sweep

LINE_PHASES = ("dag_parse", "task", "dag_run", "dbt_baseline")
PARETO_PHASES = ("dag_parse", "task", "dag_run")
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


def line_plots(scenarios: dict[str, ScenarioSamples]) -> list[Plot]:
    """Memory and time against the number of models, per phase and varying option."""
    plots = []
    for phase in LINE_PHASES:
        of = [s for s in scenarios.values() if s.phase == phase and isinstance(s.size, int)]
        of = [s for s in of if s.values.get("memory") and s.values.get("time")]
        if not of:
            continue
        axes = varying_axes(of) or [""]
        sizes = sorted({s.size for s in of if isinstance(s.size, int)})
        for axis in axes:
            fig = new_figure(figsize=(9, 3.4))
            ax_mem, ax_time = fig.subplots(1, 2)
            values = sorted({repr(s.config.get(axis)) for s in of}) if axis else [""]
            for value in values:
                chosen = [s for s in of if not axis or repr(s.config.get(axis)) == value]
                xs, mem, tim = [], [], []
                for size in sizes:
                    at = [s for s in chosen if s.size == size]
                    if not at:
                        continue
                    xs.append(size)
                    mem.append(statistics.median(v for s in at for v in s.values["memory"]) / MIB)
                    tim.append(statistics.median(v for s in at for v in s.values["time"]))
                label = fmt_axis(axis, chosen[0].config.get(axis)) if axis else "all configurations"
                ax_mem.plot(xs, mem, marker="o", label=label)
                ax_time.plot(xs, tim, marker="o", label=label)
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
            plots.append(
                Plot(
                    f"lines-{phase}-{axis or 'all'}",
                    f"{phase}: peak memory and wall time, {what}",
                    "Median over the repetitions and over the other options' values at each size.",
                    _png(fig),
                )
            )
    return plots


def pareto_plots(scenarios: dict[str, ScenarioSamples]) -> list[Plot]:
    """Memory against time of each configuration, per phase and size, Pareto front marked."""
    plots = []
    for phase in PARETO_PHASES:
        of = [s for s in scenarios.values() if s.phase == phase]
        of = [s for s in of if s.values.get("memory") and s.values.get("time")]
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
                role = at[i].axes.get("task_role")
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
                axs[0].scatter([w.stops_after], [series[0][knee]], s=160, facecolors="none",
                               edgecolors=line.get_color(), linewidths=1.5, zorder=3)
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
