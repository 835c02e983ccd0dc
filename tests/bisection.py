"""The truth of a real-stack bisection (min_worker, pod_size), shared by the modules that
run one: tests/test_load.py and tests/test_run_own_project_sizing.py."""

from __future__ import annotations

from typing import Any

from harness.run.recipes.min_worker import MIB, ceilings
from harness.store.record import Record


def assert_bracketed(r: Record, halvings: int) -> None:
    """``r`` found its limit as the bisection must: it succeeded under the limit it reports
    and failed under the largest limit below it; the limits tried are the free run, the
    ceilings from 1.1 x its recorded peak up to the first that succeeded, then
    ``halvings`` halvings (a failure without an OOM kill run once more, attempt 1); and the
    measured run stayed under its limit."""
    assert r.status == "ok", r.reason
    f = r.figures
    probes = f.probes
    assert all(p["ended_at"] for p in probes)
    # Each limit's deciding probe: the last at that limit (a repeat decides over the
    # failure it repeats). The run succeeded under the limit it reports and failed under
    # the largest limit below it; it succeeded under no smaller limit and failed under no
    # larger one.
    decided: dict[Any, dict[str, Any]] = {p["limit_mib"]: p for p in probes}
    limited = [p for limit, p in decided.items() if limit is not None]
    assert decided[f.min_limit_mib]["status"] == "ok", probes
    assert f.max_failing_limit_mib == 0 or decided[f.max_failing_limit_mib]["status"] != "ok"
    assert min(p["limit_mib"] for p in limited if p["status"] == "ok") == f.min_limit_mib
    assert all(p["limit_mib"] <= f.max_failing_limit_mib
               for p in limited if p["status"] != "ok"), probes  # fmt: skip
    first = [p["limit_mib"] for p in probes if not p.get("attempt")]
    tried = [c for c in ceilings(f.unlimited_peak_mib) if c in first]
    assert first[0] is None and first[1 : 1 + len(tried)] == tried, probes
    assert f.min_limit_mib <= tried[-1]
    assert len(first) == 1 + len(tried) + halvings, probes
    assert f.repeated_probes == len(probes) - len(first)
    assert r.measure is not None and r.measure.limit_bytes == f.min_limit_mib * MIB
    assert r.measure.peak_tree_bytes <= r.measure.limit_bytes
