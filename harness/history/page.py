"""`harness history`: the key scenarios' figures night after night, as one static page.

Like asv's published graphs (a benchmark's value per commit, with its detected steps) and
Conbench's or Bencher's history plots (a metric over runs, alerts where it moved), for the
nightly runs: for each key scenario, peak memory and wall time per night (each repetition
and the night's median), the commit and stack versions of every night, and the steps where
the level changed (harness.history.steps). The page is self-contained like report.html:
inline CSS, plots as data: URI PNGs, a Content-Security-Policy that forbids anything else.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.compare.diff import MACHINE_KEYS
from harness.compare.nights import by_start
from harness.compare.runs import RunData, load_run
from harness.errors import UsageError
from harness.history.steps import MIN_REL, Step, find_steps
from harness.report.render_html import render_template
from harness.store.record import Record
from harness.store.runinfo import Commit, Machine

HISTORY_FILE = "index.html"
DEFAULT_LIMIT = 24
# The stack versions shown per night (run.json "versions"), in this order.
STACK = ("python", "apache-airflow", "astronomer-cosmos", "dbt-core", "dbt-duckdb", "duckdb")
METRICS: dict[str, tuple[str, Callable[[Record], float]]] = {
    "peak_mib": (
        "peak memory (MiB)",
        lambda r: r.measure.peak_tree_bytes / 2**20 if r.measure else 0.0,
    ),
    "wall_s": ("wall time (s)", lambda r: r.measure.wall_s if r.measure else 0.0),
}


@dataclass(frozen=True)
class Night:
    """One run of the history, with what the page says about it."""

    run: RunData

    @property
    def when(self) -> str:
        """When it started (run.json), the sort key of the nights."""
        return self.run.info.started_at or ""

    @property
    def commit(self) -> str:
        """The harness commit, short, with `+dirty` when the tree was."""
        c = self.run.info.commit or Commit()
        return (c.id or "?")[:8] + ("+dirty" if c.dirty else "")

    @property
    def versions(self) -> dict[str, str]:
        """The stack's versions (STACK)."""
        v = self.run.info.versions
        return {k: str(v.get(k, "?")) for k in STACK}

    def machines(self) -> list[Machine]:
        """The machine of every shard (merged run) or of the run."""
        merged = self.run.info.merged_from
        found = [m.machine for m in merged] if merged else [self.run.info.machine]
        return [m for m in found if m is not None]

    def machine_text(self) -> str:
        """CPU, cores and memory; `mixed machines` when the shards differ in them."""
        ms = self.machines()
        if not ms:
            return "?"
        kinds = {tuple(getattr(m, k) for k in MACHINE_KEYS) for m in ms}
        m = ms[0]
        text = f"{m.cpu or '?'}, {m.cores_logical or '?'} cores, " + (
            f"{(m.memory_bytes or 0) / 2**30:.0f} GiB"
        )
        return text if len(kinds) == 1 else f"mixed machines ({len(kinds)} kinds): {text}, ..."

    def runners(self) -> str:
        """The CI runners that measured it (run.json machine.runner.name)."""
        names = sorted({m.runner.name for m in self.machines() if m.runner and m.runner.name})
        return ", ".join(names) or "-"


@dataclass
class Series:
    """One scenario's metric over the nights: each night's ok values (empty: none)."""

    scenario_id: str
    metric: str
    values: list[list[float]]
    failed: list[bool]
    steps: list[Step] = field(default_factory=list)


def load_nights(paths: Sequence[str | Path]) -> list[Night]:
    """Read the runs, oldest first (run.json started_at, then the order given)."""
    if not paths:
        raise UsageError("history: give at least one run folder")
    return [Night(run) for run in by_start([load_run(p) for p in paths])]


def key_scenarios(
    nights: list[Night], patterns: Sequence[str] = (), limit: int = DEFAULT_LIMIT
) -> tuple[list[str], str]:
    """The scenario ids the page shows, and the rule that chose them (said on the page)."""
    need = max(1, min(2, len(nights)), (len(nights) + 1) // 2)
    seen: Counter[str] = Counter()
    for n in nights:
        seen.update({r.scenario_id for r in n.run.records})
    newest = list(dict.fromkeys(r.scenario_id for r in nights[-1].run.records))
    order = {sid: i for i, sid in enumerate(newest)}
    ids = [s for s, c in seen.items()
           if c >= need and (not patterns or any(p in s for p in patterns))]
    ids.sort(key=lambda s: (-seen[s], order.get(s, len(order)), s))
    rule = (
        f"Key scenarios: those recorded (whatever their status) in at least {need} of the "
        f"{len(nights)} nights (half of them, and at least 2 when there are 2 or more)"
        + (f", whose id contains {' or '.join(repr(p) for p in patterns)}" if patterns else "")
        + f"; of those, the {limit} recorded in most nights, ties in the newest night's order. "
        f"{len(ids)} scenario(s) qualify, {min(len(ids), limit)} shown."
    )
    return ids[:limit], rule


def series_of(nights: list[Night], sid: str, metric: str) -> Series:
    """One scenario's metric per night, with its steps (nights without a value skipped)."""
    get = METRICS[metric][1]
    values, failed = [], []
    for n in nights:
        recs = [r for r in n.run.records if r.scenario_id == sid]
        values.append([get(r) for r in recs if r.status == "ok" and r.measure is not None])
        failed.append(any(r.status != "ok" for r in recs))
    present = [i for i, v in enumerate(values) if v]
    steps = find_steps([values[i] for i in present])
    mapped = [Step(present[s.index], s.before, s.after) for s in steps]
    return Series(sid, metric, values, failed, mapped)


def _plot(series: list[Series], labels: list[str]) -> str:
    """Both metrics of one scenario as a data: URI PNG: dots per repetition, the nightly
    median as a line, a failed night as a red x, a dashed line at each step."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.2))
    x = range(len(labels))
    for ax, s in zip(fig.subplots(1, len(series)), series, strict=True):
        for i, vals in enumerate(s.values):
            ax.plot([i] * len(vals), vals, ".", color="#9ab", markersize=4)
        med = [sorted(v)[len(v) // 2] if v else float("nan") for v in s.values]
        ax.plot(x, med, "-o", color="#1f5f9f", markersize=3, linewidth=1.2)
        for i, bad in enumerate(s.failed):
            if bad:
                ax.plot([i], [0], "x", color="#c00", markersize=8, clip_on=False)
        for st in s.steps:
            ax.axvline(st.index - 0.5, color="#c60", linestyle="--", linewidth=1)
            ax.annotate(f"{st.rel:+.0%}", (st.index - 0.5, st.after), color="#c60", fontsize=8)
        ax.set_title(METRICS[s.metric][0], fontsize=9)
        ax.set_ylim(bottom=0)
        ax.set_xticks(list(x), labels, rotation=45, ha="right", fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _night_rows(nights: list[Night]) -> list[dict[str, Any]]:
    rows, before = [], None
    for i, n in enumerate(nights, 1):
        versions = n.versions
        counts = Counter(r.status for r in n.run.records)
        rows.append({
            "i": i,
            "run": n.run.run_id,
            "when": n.when or "?",
            "commit": n.commit,
            "state": n.run.info.state or "?",
            "versions": [(k, v, before is not None and before[k] != v)
                         for k, v in versions.items()],
            "backend": n.run.info.backend or "?",
            "machine": n.machine_text(),
            "runners": n.runners(),
            "counts": ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        })
        before = versions
    return rows


def build_view(nights: list[Night], patterns: Sequence[str] = (),
               limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Everything the page shows, plots rendered."""
    ids, rule = key_scenarios(nights, patterns, limit)
    labels = [f"{n.when[:10]} {n.commit[:7]}" for n in nights]
    scenarios, steps = [], []
    for sid in ids:
        series = [series_of(nights, sid, m) for m in METRICS]
        for s in series:
            for st in s.steps:
                night = nights[st.index]
                steps.append({"scenario": sid, "metric": METRICS[s.metric][0],
                              "night": st.index + 1, "commit": night.commit,
                              "before": f"{st.before:.1f}", "after": f"{st.after:.1f}",
                              "rel": f"{st.rel:+.1%}", "worse": st.rel > 0})
        failed = sum(series[0].failed)
        scenarios.append({"id": sid, "img": _plot(series, labels),
                          "nights": sum(1 for v in series[0].values if v), "failed": failed})
    return {
        "title": f"Nightly history: {len(nights)} night(s), {nights[0].when[:10]} to "
                 f"{nights[-1].when[:10]}",
        "rule": rule,
        "min_rel": f"{MIN_REL:.0%}",
        "nights": _night_rows(nights),
        "steps": steps,
        "scenarios": scenarios,
    }


def write_history(paths: Sequence[str | Path], out: Path, patterns: Sequence[str] = (),
                  limit: int = DEFAULT_LIMIT) -> Path:
    """Write out/index.html, the history page of the runs ``paths``; returns its path."""
    if limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    nights = load_nights(paths)
    html = render_template("history.html", v=build_view(nights, patterns, limit))
    out.mkdir(parents=True, exist_ok=True)
    path = out / HISTORY_FILE
    path.write_text(html)
    return path
