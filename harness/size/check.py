"""The run_nodes method checked where the truth is known: a DAG run of a few models of the
project against the whole DAG run of the same configuration, deployment by deployment.

Two figures per pair: the cgroup's peak (what the harness reports, page cache included
on cgroup v1) and the anonymous memory at the peak (memory.stat's rss, what the kernel
cannot take back). A whole run writes and reads more files than a slice of it, so its
page cache is larger; the anonymous memory is what a worker's limit must hold.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from harness.registry.names import DAG_RUN
from harness.size.deployments import (
    DEPLOYMENTS,
    MIB,
    Deployment,
    executor_of,
    in_sizing_config,
    models_of,
)
from harness.store.record import Record

_RUN_NODES = re.compile(r"/run_nodes=\d+")


@dataclass(frozen=True)
class MethodCheck:
    """One deployment of one configuration: its slice's peak against the whole run's."""

    deployment: str
    mode: str
    models: int
    slots: int
    run_nodes: int
    whole_mib: list[float]
    part_mib: list[float]
    whole_anon_mib: list[float]
    part_anon_mib: list[float]

    @property
    def difference(self) -> float:
        """(slice - whole) / whole, of the medians of the peaks."""
        return _rel(self.part_mib, self.whole_mib)

    @property
    def anon_difference(self) -> float | None:
        """The same of the anonymous memory at the peak (None where not recorded)."""
        if not self.whole_anon_mib or not self.part_anon_mib:
            return None
        return _rel(self.part_anon_mib, self.whole_anon_mib)


def _rel(part: list[float], whole: list[float]) -> float:
    w = statistics.median(whole)
    return (statistics.median(part) - w) / w


def _anonymous(d: Deployment, r: Record) -> list[float]:
    """The anonymous memory at each of the deployment's peaks in ``r``, where recorded
    (a Celery worker's memory.stat near its peak; none for a whole tree)."""
    return [
        w["memory_stat_near_peak"]["rss"] / MIB
        for w in r.figs.workers or []
        if d.role is not None and isinstance(w, dict) and w.get("role") == d.role
        and w.get("peak_tree_bytes")
        and isinstance((w.get("memory_stat_near_peak") or {}).get("rss"), int | float)
    ]  # fmt: skip


def method_checks(records: list[Record]) -> list[MethodCheck]:
    """Every run_nodes DAG run paired with the whole runs of its configuration."""
    runs = [r for r in records if r.phase == DAG_RUN and r.status == "ok" and in_sizing_config(r)]
    whole: dict[str, list[Record]] = {}
    for r in runs:
        if not r.ax.run_nodes:
            whole.setdefault(r.scenario_id, []).append(r)
    parts: dict[str, list[Record]] = {}
    for r in runs:
        if r.ax.run_nodes and _RUN_NODES.sub("", r.scenario_id) in whole:
            parts.setdefault(r.scenario_id, []).append(r)
    out = []
    for sid, part in sorted(parts.items()):
        base = whole[_RUN_NODES.sub("", sid)]
        a = part[0].ax
        for d in DEPLOYMENTS:
            if d.executor != executor_of(part[0]) or a.execution_mode not in d.modes:
                continue
            wp, wa = _collect(d, base)
            pp, pa = _collect(d, part)
            if wp and pp:
                out.append(MethodCheck(d.name, a.execution_mode, models_of(part[0]),
                                       d.slots_of(part[0]),
                                       int(a.run_nodes or 0), wp, pp, wa, pa))  # fmt: skip
    return out


def _collect(d: Deployment, records: list[Record]) -> tuple[list[float], list[float]]:
    peaks: list[float] = []
    anon: list[float] = []
    for r in records:
        peaks += d.peaks(r)
        anon += _anonymous(d, r)
    return peaks, anon


def render_checks(checks: list[MethodCheck]) -> str:
    """The checks as a markdown table."""
    lines = [
        "| deployment | mode | models | slots | run_nodes | whole run MiB | run_nodes MiB "
        "| difference | anonymous memory difference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        anon = f"{c.anon_difference:+.1%}" if c.anon_difference is not None else "-"
        lines.append(
            f"| {c.deployment} | {c.mode} | {c.models} | {c.slots} | {c.run_nodes} "
            f"| {', '.join(f'{m:.0f}' for m in c.whole_mib)} "
            f"| {', '.join(f'{m:.0f}' for m in c.part_mib)} | {c.difference:+.1%} | {anon} |"
        )
    return "\n".join(lines)
