"""Pair the scenarios of two runs and give each metric a verdict.

A regression is a metric worse by more than its threshold AND significant over
the repetitions after the Benjamini-Hochberg adjustment over the whole comparison
(harness.compare.stats). A scenario that succeeded in BASE and fails in every
repetition of NEW (oom, timeout, error) is a regression too, and so is a scenario
of BASE missing from NEW (the gate of a nightly: nothing may silently go
unmeasured). A scenario only NEW has is listed. Runs measured with different
memory backends or on different machines (or shards of one run on different ones)
are flagged, as pyperf does; figures that spread past pyperf's limits are flagged
unstable (harness.compare.stability).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.compare.gate import run_failures, run_notes
from harness.compare.runs import RunData
from harness.compare.samples import METRICS, ScenarioSamples, group_scenarios
from harness.compare.stability import Stability, check
from harness.compare.stats import ALPHA, Change, KnownSpread, adjust, compare_samples

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NOT_SIGNIFICANT = "not significant"
WITHIN = "within threshold"
UNTESTED_WORSE = "worse, too few repetitions"
UNTESTED_BETTER = "better, too few repetitions"
MISSING = "missing"
"""The key of ``ScenarioDiff.regressed`` for a scenario of BASE that NEW lacks."""

History = dict[tuple[str, str], KnownSpread]
"""(scenario id, metric key) -> the spread earlier runs measured (``known_spreads``);
(phase, metric key) -> the floor: the noise of that phase's metric over the runs."""

# machine_info keys (run.json) that make two machines different for our figures. The host
# name is left out: CI runners get a new one every night on the same hardware.
MACHINE_KEYS = ("cpu", "cores_logical", "memory_bytes", "kernel")


@dataclass(frozen=True)
class Thresholds:
    """Relative change above which a significant worsening is a regression (0.10 = 10%)."""

    memory: float = 0.10
    time: float = 0.10
    slots: float = 0.10

    def of(self, metric: str) -> float:
        """The threshold of a metric key (memory, time, slots)."""
        return float(getattr(self, metric))


def verdict(change: Change, threshold: float) -> str:
    """Regression, improvement, not significant, within threshold, or too few repetitions.

    "Better" is symmetric to "worse": a ratio under 1/(1+threshold), as asv's factor."""
    worse = change.ratio > 1.0 + threshold
    better = change.ratio < 1.0 / (1.0 + threshold)
    if not (worse or better):
        return WITHIN
    if change.significant is None:
        return UNTESTED_WORSE if worse else UNTESTED_BETTER
    if not change.significant:
        return NOT_SIGNIFICANT
    return REGRESSION if worse else IMPROVEMENT


@dataclass(frozen=True)
class MetricDiff:
    """One metric of one scenario in both runs."""

    metric: str
    change: Change
    threshold: float
    verdict: str
    base_stability: Stability | None = None
    new_stability: Stability | None = None

    @property
    def unstable(self) -> bool:
        """True when either side's repetitions spread past pyperf's limits."""
        return any(s is not None and s.unstable for s in (self.base_stability, self.new_stability))

    @property
    def unstable_note(self) -> str:
        """"unstable: NEW standard deviation 31% of the mean", or ""."""
        parts = [
            f"{side} {'; '.join(s.reasons)}"
            for side, s in (("BASE", self.base_stability), ("NEW", self.new_stability))
            if s is not None and s.unstable
        ]
        return "unstable: " + ", ".join(parts) if parts else ""


@dataclass
class ScenarioDiff:
    """One scenario id across the two runs."""

    scenario_id: str
    phase: str
    presence: str
    """"both", "base only" or "new only"."""
    base_status: Counter[str] = field(default_factory=Counter)
    new_status: Counter[str] = field(default_factory=Counter)
    metrics: dict[str, MetricDiff] = field(default_factory=dict)
    note: str | None = None
    """Status changes: "now fails: oom x3", "now succeeds", "no ok repetition"."""
    now_fails: bool = False

    @property
    def regressed(self) -> list[str]:
        """Metric keys that regressed, plus "status" when the scenario now fails and
        "missing" when NEW lacks it. A metric whose repetitions are unstable on either
        side (harness.compare.stability) is flagged, not decided: it does not count."""
        if self.presence == "base only":
            return [MISSING]
        out = [k for k, m in self.metrics.items() if m.verdict == REGRESSION and not m.unstable]
        return (["status"] if self.now_fails else []) + out


@dataclass
class Comparison:
    """Everything `harness compare` prints and decides from."""

    base_id: str
    new_id: str
    thresholds: Thresholds
    scenarios: list[ScenarioDiff]
    warnings: list[str]
    """Why the figures may not be comparable (backend, machine)."""
    version_changes: list[tuple[str, Any, Any]]
    """(package, BASE version, NEW version) for every package that differs."""
    alpha: float = ALPHA
    run_failures: list[str] = field(default_factory=list)
    """Why NEW fails the gate as a whole: empty, not finished, a shard empty or unfinished."""
    history_runs: int = 0
    """How many earlier runs gave the known spreads the tests used."""

    @property
    def regressions(self) -> list[tuple[str, str]]:
        """(scenario id, metric key, "status" or "missing") of every regression."""
        return [(s.scenario_id, k) for s in self.scenarios for k in s.regressed]

    @property
    def has_regression(self) -> bool:
        """True when `harness compare` must exit 1 (a regression or a run failure)."""
        return bool(self.regressions or self.run_failures)

    @property
    def unstable(self) -> list[tuple[str, str]]:
        """(scenario id, metric key) of every figure flagged unstable on either side."""
        return [(s.scenario_id, k) for s in self.scenarios for k, m in s.metrics.items()
                if m.unstable]

    def count(self, verdict_name: str) -> int:
        """How many (scenario, metric) pairs got this verdict."""
        return sum(
            1 for s in self.scenarios for m in s.metrics.values() if m.verdict == verdict_name
        )


def _status_text(counts: Counter[str]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()) if k != "ok") or "ok"


def _pair(
    base: ScenarioSamples, new: ScenarioSamples, th: Thresholds, alpha: float, history: History
) -> ScenarioDiff:
    """Per-comparison tests (not yet adjusted over the run; ``compare_runs`` does that)."""
    d = ScenarioDiff(base.scenario_id, base.phase, "both", base.statuses, new.statuses)
    for metric in METRICS:
        b, n = base.values.get(metric.key), new.values.get(metric.key)
        if b and n:
            known = history.get((base.scenario_id, metric.key))
            floor = history.get((base.phase, metric.key))
            change = compare_samples(b, n, alpha, known, floor)
            t = th.of(metric.key)
            d.metrics[metric.key] = MetricDiff(
                metric.key, change, t, verdict(change, t), check(b), check(n)
            )
    if base.n_ok and not new.n_ok:
        d.now_fails = True
        d.note = f"now fails: {_status_text(new.statuses)}"
    elif new.n_ok and not base.n_ok:
        d.note = f"now succeeds (base: {_status_text(base.statuses)})"
    elif not base.n_ok:
        d.note = f"fails in both: {_status_text(new.statuses)}"
    elif new.n_ok < sum(new.statuses.values()):
        d.note = f"some repetitions failed: {_status_text(new.statuses)}"
    return d


def _backends(run: RunData) -> set[str]:
    found: set[str] = {r.measure.backend for r in run.records if r.measure is not None}
    if run.info.get("backend"):
        found.add(str(run.info["backend"]))
    return found


def environment_warnings(base: RunData, new: RunData) -> list[str]:
    """Reasons the two runs' figures may not be comparable, one line each."""
    out = []
    for run in (base, new):
        if not run.info:
            out.append(f"{run.run_id}: no run.json, so its machine and backend are unknown")
    bb, nb = _backends(base), _backends(new)
    if bb and nb and bb != nb:
        out.append(
            f"different memory backends: base {'/'.join(sorted(bb))}, new {'/'.join(sorted(nb))}"
            " (peak memory is measured differently)"
        )
    bm, nm = base.info.get("machine") or {}, new.info.get("machine") or {}
    diffs = _machine_diffs(bm, nm)
    if diffs:
        out.append("different machines: " + "; ".join(diffs))
    for run in (base, new):
        out += _mixed_shards(run)
        out += run_notes(run)
    return out


def _machine_diffs(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    if not a or not b:
        return []
    return [f"{k} {a.get(k)} vs {b.get(k)}" for k in MACHINE_KEYS if a.get(k) != b.get(k)]


def _mixed_shards(run: RunData) -> list[str]:
    """Shards of one merged run measured on different machines or backends."""
    sources = run.info.get("merged_from") or []
    out = []
    for src in sources[1:]:
        diffs = _machine_diffs(sources[0].get("machine") or {}, src.get("machine") or {})
        if src.get("backend") != sources[0].get("backend"):
            diffs.append(f"backend {sources[0].get('backend')} vs {src.get('backend')}")
        if diffs:
            out.append(
                f"{run.run_id}: its sources {sources[0].get('path')} and {src.get('path')}"
                f" ran on different machines: {'; '.join(diffs)}"
            )
    return out


def version_changes(base: RunData, new: RunData) -> list[tuple[str, Any, Any]]:
    """Packages whose version differs between the runs (an upgrade is why one compares)."""
    bv, nv = base.info.get("versions") or {}, new.info.get("versions") or {}
    return [(k, bv.get(k), nv.get(k)) for k in sorted(set(bv) | set(nv)) if bv.get(k) != nv.get(k)]


def known_spreads(history: list[RunData], runs: list[RunData] | None = None) -> History:
    """The spread of each scenario's metrics over earlier runs (e.g. earlier nights), and
    each phase's noise floor per metric over the repetitions of ``runs`` and ``history``."""
    values: dict[tuple[str, str], list[list[float]]] = {}
    phases: dict[tuple[str, str], list[list[float]]] = {}
    phase_of: dict[str, str] = {}
    for i, run in enumerate([*history, *(runs or [])]):
        for sid, s in group_scenarios(run.records).items():
            phase_of[sid] = s.phase
            for key, vals in s.values.items():
                phases.setdefault((s.phase, key), []).append(vals)
                if i < len(history):
                    values.setdefault((sid, key), []).append(vals)
    for (sid, key), nights in values.items():  # night-to-night spread counts in the floor
        phases[(phase_of[sid], key)].append([v for night in nights for v in night])
    out = {k: KnownSpread.of(v) for k, v in values.items()}
    out |= {k: KnownSpread.pooled(v) for k, v in phases.items()}
    return {k: v for k, v in out.items() if v is not None}


def _adjust_over_run(diffs: list[ScenarioDiff], alpha: float) -> None:
    """Benjamini-Hochberg over every tested metric of every scenario, verdicts redone."""
    items = [(d, k) for d in diffs for k in d.metrics]
    adjusted = adjust([d.metrics[k].change for d, k in items], alpha)
    for (d, k), change in zip(items, adjusted, strict=True):
        m = d.metrics[k]
        d.metrics[k] = dataclasses.replace(m, change=change, verdict=verdict(change, m.threshold))


def compare_runs(
    base: RunData,
    new: RunData,
    thresholds: Thresholds | None = None,
    alpha: float = ALPHA,
    history: list[RunData] | None = None,
) -> Comparison:
    """Pair every scenario of the two runs (BASE's order first, then NEW-only ones).

    ``history``: earlier runs of the same scenarios (BASE may be among them; NEW must not
    be); their spread is pooled into each test, so single repetitions can be judged."""
    th = thresholds or Thresholds()
    known = known_spreads(history or [], [base, new])
    bs, ns = group_scenarios(base.records), group_scenarios(new.records)
    diffs: list[ScenarioDiff] = []
    for sid, b in bs.items():
        if sid in ns:
            diffs.append(_pair(b, ns[sid], th, alpha, known))
        else:
            diffs.append(ScenarioDiff(sid, b.phase, "base only", base_status=b.statuses))
    for sid, n in ns.items():
        if sid not in bs:
            diffs.append(ScenarioDiff(sid, n.phase, "new only", new_status=n.statuses))
    _adjust_over_run(diffs, alpha)
    return Comparison(
        base.run_id,
        new.run_id,
        th,
        diffs,
        environment_warnings(base, new),
        version_changes(base, new),
        alpha,
        run_failures(new),
        len(history or []),
    )
