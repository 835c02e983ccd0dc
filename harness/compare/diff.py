"""Pair the scenarios of two runs and give each metric a verdict.

A regression is a metric worse by more than its threshold AND significant over
the repetitions after the Benjamini-Hochberg adjustment over the whole comparison
(harness.compare.stats). A scenario that succeeded in BASE and fails in every
repetition of NEW (oom, timeout, error) is a regression too, and so is a scenario
of BASE missing from NEW (the gate of a nightly: nothing may silently go
unmeasured). A scenario only NEW has is listed. Runs measured with different
memory backends or on different machines (or shards of one run on different ones)
are flagged, as pyperf does; figures that spread past pyperf's limits are flagged
unstable (harness.compare.stability). With earlier nights given, a regression of a
single repetition (one value on either side) counts only when the previous night
confirms it; otherwise it is "suspected" (harness.compare.nights says why).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.compare.gate import run_failures, run_notes
from harness.compare.methods import method_change, method_warning
from harness.compare.nights import Nights
from harness.compare.runs import RunData
from harness.compare.samples import METRICS, ScenarioSamples, group_scenarios
from harness.compare.stability import Stability, check
from harness.compare.stats import ALPHA, Change, adjust, compare_samples
from harness.measure.speed import differ, mixed, speed_ratio
from harness.store.runinfo import Machine

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NOT_SIGNIFICANT = "not significant"
WITHIN = "within threshold"
UNTESTED_WORSE = "worse, too few repetitions"
UNTESTED_BETTER = "better, too few repetitions"
SUSPECTED = "worse, to confirm"
"""A single repetition's regression that the previous night did not confirm."""
MISSING = "missing"
"""The key of ``ScenarioDiff.regressed`` for a scenario of BASE that NEW lacks."""

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


def judge(
    change: Change, threshold: float, to_confirm: bool = False, previous: Change | None = None
) -> str:
    """``verdict``, except that a regression ``to_confirm`` (a single repetition judged
    with earlier nights) is SUSPECTED unless the ``previous`` night's change against the
    same BASE is a regression too (harness.compare.nights)."""
    found = verdict(change, threshold)
    confirmed = previous is not None and verdict(previous, threshold) == REGRESSION
    return SUSPECTED if found == REGRESSION and to_confirm and not confirmed else found


@dataclass(frozen=True)
class MetricDiff:
    """One metric of one scenario in both runs."""

    metric: str
    change: Change
    threshold: float
    verdict: str
    base_stability: Stability | None = None
    new_stability: Stability | None = None
    to_confirm: bool = False
    """A single repetition judged with earlier nights: a regression needs confirming."""
    previous: Change | None = None
    """When ``to_confirm``: the previous night against the same BASE by the same test
    (Benjamini-Hochberg over that night's tests), None when that night lacks the figure."""

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
    method_changed: bool = False
    """Measured by different method versions of its recipe: flagged, no verdict."""

    @property
    def regressed(self) -> list[str]:
        """Metric keys that regressed, plus "status" when the scenario now fails and
        "missing" when NEW lacks it. A metric whose repetitions are unstable on either
        side (harness.compare.stability) is flagged, not decided: it does not count."""
        if self.presence == "base only":
            return [MISSING]
        out = [k for k, m in self.metrics.items() if m.verdict == REGRESSION and not m.unstable]
        return (["status"] if self.now_fails else []) + out

    @property
    def suspected(self) -> list[str]:
        """Metric keys whose single repetition regressed, not confirmed by the previous night."""
        return [k for k, m in self.metrics.items() if m.verdict == SUSPECTED and not m.unstable]


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
    previous_id: str | None = None
    """The earlier night that confirms single repetitions' regressions (with history)."""

    @property
    def regressions(self) -> list[tuple[str, str]]:
        """(scenario id, metric key, "status" or "missing") of every regression."""
        return [(s.scenario_id, k) for s in self.scenarios for k in s.regressed]

    @property
    def suspected(self) -> list[tuple[str, str]]:
        """(scenario id, metric key) of every regression still to confirm (exit code 0)."""
        return [(s.scenario_id, k) for s in self.scenarios for k in s.suspected]

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
    base: ScenarioSamples, new: ScenarioSamples, th: Thresholds, alpha: float, nights: Nights
) -> ScenarioDiff:
    """Per-comparison tests (not yet adjusted over the run; ``compare_runs`` does that)."""
    sid = base.scenario_id
    d = ScenarioDiff(sid, base.phase, "both", base.statuses, new.statuses)
    if note := method_change(base.phase, base, new):  # not comparable: no verdict
        d.note, d.method_changed = note, True
        return d
    for metric in METRICS:
        b, n = base.values.get(metric.key), new.values.get(metric.key)
        if b and n:
            single = nights.previous is not None and min(len(b), len(n)) == 1
            spreads = nights.single if single else nights.known
            known, floor = spreads.get((sid, metric.key)), spreads.get((base.phase, metric.key))
            change = compare_samples(b, n, alpha, known, floor)
            earlier = (nights.previous or {}).get(sid)
            confirms = single and earlier is not None and earlier.methods == new.methods
            p = earlier.values.get(metric.key) if confirms and earlier else None
            previous = compare_samples(b, p, alpha, known, floor) if p else None
            t = th.of(metric.key)
            d.metrics[metric.key] = MetricDiff(
                metric.key, change, t, judge(change, t, single, previous), check(b), check(n),
                single, previous,
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
    if run.info.backend:
        found.add(run.info.backend)
    return found


def environment_warnings(base: RunData, new: RunData) -> list[str]:
    """Reasons the two runs' figures may not be comparable, one line each."""
    out = []
    for run in (base, new):
        if not run.has_info:
            out.append(f"{run.run_id}: no run.json, so its machine and backend are unknown")
    bb, nb = _backends(base), _backends(new)
    if bb and nb and bb != nb:
        out.append(
            f"different memory backends: base {'/'.join(sorted(bb))}, new {'/'.join(sorted(nb))}"
            " (peak memory is measured differently)"
        )
    diffs = _machine_diffs(base.info.machine, new.info.machine)
    if diffs:
        out.append("different machines: " + "; ".join(diffs))
    out += speed_warnings(base, new)
    for run in (base, new):
        out += _mixed_shards(run)
        out += run_notes(run)
    return out


def speed_warnings(base: RunData, new: RunData) -> list[str]:
    """The machines' speed (harness.measure.speed): BASE against NEW, and the parts of
    one run against each other; times compare the machines too when they differ."""
    out = []
    for run in (base, new):
        refs = run.info.cpu_references
        if mixed(refs):
            out.append(
                f"{run.run_id}: its parts ran at different machine speeds (a fixed loop took "
                f"{min(refs):.3f}-{max(refs):.3f} s of CPU at its start and resumes): "
                "its times mix them"
            )
    b, n = base.info.cpu_references, new.info.cpu_references
    if b and n and differ(b[0], n[0]):
        out.append(
            f"different machine speeds: a fixed loop took {b[0]:.3f} s of CPU for BASE and "
            f"{n[0]:.3f} s for NEW (NEW/BASE {speed_ratio(b[0], n[0]):.2f}): time figures "
            "compare the machines as well as the code"
        )
    return out


def _machine_diffs(a: Machine | None, b: Machine | None) -> list[str]:
    if a is None or b is None:
        return []
    pairs = [(k, getattr(a, k), getattr(b, k)) for k in MACHINE_KEYS]
    return [f"{k} {x} vs {y}" for k, x, y in pairs if x != y]


def _mixed_shards(run: RunData) -> list[str]:
    """Shards of one merged run measured on different machines or backends."""
    sources = run.info.merged_from
    out = []
    for src in sources[1:]:
        diffs = _machine_diffs(sources[0].machine, src.machine)
        if src.backend != sources[0].backend:
            diffs.append(f"backend {sources[0].backend} vs {src.backend}")
        if diffs:
            out.append(
                f"{run.run_id}: its sources {sources[0].path} and {src.path}"
                f" ran on different machines: {'; '.join(diffs)}"
            )
    return out


def version_changes(base: RunData, new: RunData) -> list[tuple[str, Any, Any]]:
    """Packages whose version differs between the runs (an upgrade is why one compares)."""
    bv, nv = base.info.versions, new.info.versions
    return [(k, bv.get(k), nv.get(k)) for k in sorted(set(bv) | set(nv)) if bv.get(k) != nv.get(k)]


def _adjust_over_run(diffs: list[ScenarioDiff], alpha: float) -> None:
    """Benjamini-Hochberg over every tested metric of every scenario, and over the
    previous night's tests (a family of their own, as that night's gate would have
    adjusted them), verdicts redone."""
    items = [(d, k) for d in diffs for k in d.metrics]
    adjusted = adjust([d.metrics[k].change for d, k in items], alpha)
    confirming = {(id(d), k): p for d, k in items if (p := d.metrics[k].previous) is not None}
    earlier = dict(zip(confirming, adjust(list(confirming.values()), alpha), strict=True))
    for (d, k), change in zip(items, adjusted, strict=True):
        m = d.metrics[k]
        prev = earlier.get((id(d), k))
        found = judge(change, m.threshold, m.to_confirm, prev)
        d.metrics[k] = dataclasses.replace(m, change=change, verdict=found, previous=prev)


def compare_runs(
    base: RunData,
    new: RunData,
    thresholds: Thresholds | None = None,
    alpha: float = ALPHA,
    history: list[RunData] | None = None,
) -> Comparison:
    """Pair every scenario of the two runs (BASE's order first, then NEW-only ones).

    ``history``: earlier runs of the same scenarios (BASE may be among them; NEW must not
    be); their spread is pooled into each test, so single repetitions can be judged, and
    the newest of them (by started_at) other than BASE must confirm a single repetition's
    regression (harness.compare.nights)."""
    th = thresholds or Thresholds()
    nights = Nights.of(history or [], base, new)
    bs, ns = group_scenarios(base.records), group_scenarios(new.records)
    diffs: list[ScenarioDiff] = []
    for sid, b in bs.items():
        if sid in ns:
            diffs.append(_pair(b, ns[sid], th, alpha, nights))
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
        environment_warnings(base, new)
        + method_warning([d.scenario_id for d in diffs if d.method_changed]),
        version_changes(base, new),
        alpha,
        run_failures(new),
        nights.count,
        nights.previous_id,
    )
