"""Pairs of the guide where a side failed: a failure is an outcome.

A side failed when every repetition of its scenario ended in a timeout, an OOM kill or
an error ("invalid", Cosmos refusing the combination, is no outcome). Against a twin
that succeeded it decides the pair: the option "avoids a failure", or it fails where
the twin does not. What the side that succeeded had to spare is shown with it: its
smallest margin to the parse limit the other passed (figures.timeout_margin, e.g.
Airflow's dagbag_import_timeout), or its peak under the memory limit of an OOM kill.
"""

from __future__ import annotations

from typing import Any

from harness.compare.effect import FAILED
from harness.compare.format import MIB
from harness.compare.samples import ScenarioSamples
from harness.guide.options import Contrast
from harness.guide.verdict import AVOIDS, BOTH_FAILED, FAILS


def _limit_hit(failed: ScenarioSamples) -> str | None:
    """The parse limit the failed side passed (its records' negative timeout_margin)."""
    passed = [
        (v, k)
        for r in failed.records
        for k, v in (r.figs.timeout_margin or {}).items()
        if v < 0
    ]
    return min(passed)[1] if passed else None


def margin_text(ok: ScenarioSamples, failed: ScenarioSamples, value: Any) -> str | None:
    """How far the side that succeeded stayed from the limit the failed side passed."""
    limit = _limit_hit(failed)
    if limit is not None:
        ok_records = [r for r in ok.records if r.status == "ok"]
        margins = [(r.figs.timeout_margin or {}).get(limit) for r in ok_records]
        left = [m for m in margins if m is not None]
        limits = [(r.figs.limits or {}).get(limit) for r in ok.records]
        of = next((f" ({x:.0f} s)" for x in limits if x), "")
        if left:
            return f"{value}: {min(left):.1f} s under {limit}{of} at its slowest"
    cap = ok.ax.worker_limit_mib
    if "oom" in failed.statuses and cap and ok.values.get("memory"):
        peak = max(ok.values["memory"]) / MIB
        return f"{value}: peak {peak:.0f} MiB, {cap - peak:.0f} MiB under the {cap} MiB limit"
    return None


def failure_fields(c: Contrast, s: ScenarioSamples, twin: ScenarioSamples,
                   states: tuple[str, str]) -> dict[str, Any]:  # fmt: skip
    """The fields of a pair where a side failed."""
    if states == ("failed", "failed"):
        why = "; ".join(sorted(set(s.reasons + twin.reasons)))[:200]
        return {"failure": BOTH_FAILED, "failed": f"both sides failed ({why})"}
    ok, bad = (s, twin) if states[0] == "ok" else (twin, s)
    value = f"{c.axis}={bad.axes[c.axis]}"
    statuses = ", ".join(sorted(k for k in bad.statuses if k in FAILED))
    reason = bad.reasons[0] if bad.reasons else "no reason recorded"
    return {
        "failure": AVOIDS if ok is s else FAILS,
        "failed": f"{value} failed every repetition ({statuses}: {reason})",
        "margin": margin_text(ok, bad, f"{c.axis}={ok.axes[c.axis]}"),
    }
