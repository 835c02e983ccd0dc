"""Pair the scenarios of two runs and give each metric a verdict.

A regression is a metric worse by more than its threshold AND significant over
the repetitions (harness.compare.stats). A scenario that succeeded in BASE and
fails in every repetition of NEW (oom, timeout, error) is a regression too. A
scenario present in one run only is listed, never an error. Runs measured with
different memory backends or on different machines are flagged, as pyperf does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.compare.runs import RunData
from harness.compare.samples import METRICS, ScenarioSamples, group_scenarios
from harness.compare.stats import ALPHA, Change, compare_samples

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NOT_SIGNIFICANT = "not significant"
WITHIN = "within threshold"
UNTESTED_WORSE = "worse, untested"
UNTESTED_BETTER = "better, untested"

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
    """Regression, improvement, not significant, within threshold, or untested (1 repetition).

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
        """Metric keys that regressed, plus "status" when the scenario now fails."""
        out = [k for k, m in self.metrics.items() if m.verdict == REGRESSION]
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

    @property
    def regressions(self) -> list[tuple[str, str]]:
        """(scenario id, metric key or "status") of every regression."""
        return [(s.scenario_id, k) for s in self.scenarios for k in s.regressed]

    @property
    def has_regression(self) -> bool:
        """True when `harness compare` must exit 1."""
        return bool(self.regressions)

    def count(self, verdict_name: str) -> int:
        """How many (scenario, metric) pairs got this verdict."""
        return sum(
            1 for s in self.scenarios for m in s.metrics.values() if m.verdict == verdict_name
        )


def _status_text(counts: Counter[str]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()) if k != "ok") or "ok"


def _pair(
    base: ScenarioSamples, new: ScenarioSamples, th: Thresholds, alpha: float
) -> ScenarioDiff:
    d = ScenarioDiff(base.scenario_id, base.phase, "both", base.statuses, new.statuses)
    for metric in METRICS:
        b, n = base.values.get(metric.key), new.values.get(metric.key)
        if b and n:
            change = compare_samples(b, n, alpha)
            t = th.of(metric.key)
            d.metrics[metric.key] = MetricDiff(metric.key, change, t, verdict(change, t))
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
    if bm and nm:
        diffs = [f"{k} {bm.get(k)} vs {nm.get(k)}" for k in MACHINE_KEYS if bm.get(k) != nm.get(k)]
        if diffs:
            out.append("different machines: " + "; ".join(diffs))
    return out


def version_changes(base: RunData, new: RunData) -> list[tuple[str, Any, Any]]:
    """Packages whose version differs between the runs (an upgrade is why one compares)."""
    bv, nv = base.info.get("versions") or {}, new.info.get("versions") or {}
    return [(k, bv.get(k), nv.get(k)) for k in sorted(set(bv) | set(nv)) if bv.get(k) != nv.get(k)]


def compare_runs(
    base: RunData, new: RunData, thresholds: Thresholds | None = None, alpha: float = ALPHA
) -> Comparison:
    """Pair every scenario of the two runs (BASE's order first, then NEW-only ones)."""
    th = thresholds or Thresholds()
    bs, ns = group_scenarios(base.records), group_scenarios(new.records)
    diffs: list[ScenarioDiff] = []
    for sid, b in bs.items():
        if sid in ns:
            diffs.append(_pair(b, ns[sid], th, alpha))
        else:
            diffs.append(ScenarioDiff(sid, b.phase, "base only", base_status=b.statuses))
    for sid, n in ns.items():
        if sid not in bs:
            diffs.append(ScenarioDiff(sid, n.phase, "new only", new_status=n.statuses))
    return Comparison(
        base.run_id,
        new.run_id,
        th,
        diffs,
        environment_warnings(base, new),
        version_changes(base, new),
        alpha,
    )
