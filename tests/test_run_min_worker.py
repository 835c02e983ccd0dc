"""The bisection of harness.run.recipes.min_worker, on a recipe whose need is known (it
fails under NEED MiB, and peaks at PEAK without a limit): where it ends, and that a
bisection cut short goes on from its saved probes instead of measuring them again. The
real-stack bisections are in test_run_celery (pod_size) and test_load (min_worker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.measure.result import MeasureResult
from harness.registry import AXES
from harness.run.context import Context, Outcome
from harness.run.recipes.min_worker import PRECISION, bisect_limit, saved_probes
from harness.run.workspace import Workspace
from harness.scenarios.model import ProjectSpec, Scenario

NEED, PEAK = 700, 650
MIB = 1024 * 1024


class KnownNeed:
    """Fails (oom) under NEED MiB; counts its calls; raises KeyboardInterrupt at call
    ``cut`` as Ctrl-C would reach the runner in the middle of a probe."""

    def __init__(self, cut: int | None = None) -> None:
        self.calls: list[int | None] = []
        self.cut = cut

    def __call__(self, ctx: Context) -> Outcome:
        self.calls.append(ctx.limit_mib)
        if self.cut is not None and len(self.calls) == self.cut:
            raise KeyboardInterrupt
        limit = ctx.limit_mib or None
        ok = limit is None or limit >= NEED
        peak = PEAK if ok else limit
        assert peak is not None
        m = MeasureResult("cgroup1", "ok" if ok else "oom", 0 if ok else -9, 1.5, 1.0, 0.2,
                          peak * MIB, peak * MIB, 3, limit * MIB if limit else None)
        return Outcome(m.status, m, None if ok else "oom", {"executor": "local"})


def _ctx(tmp_path: Path, probe_log: Path | None, notes: list[str] | None = None) -> Context:
    values = tuple((n, a.default) for n, a in AXES.items())
    return Context(Workspace(tmp_path / "ws"), None, Scenario(ProjectSpec(models=10), values),
                   tmp_path / "m.log", 60.0, tmp_path / "venvs", phase="min_worker",
                   bisect_steps=8, probe_log=probe_log,
                   note=None if notes is None else notes.append)


def _without_times(figures: dict[str, Any]) -> dict[str, Any]:
    rows = [{k: v for k, v in p.items() if k != "ended_at"} for p in figures["probes"]]
    return {**figures, "probes": rows}


def test_bisection_finds_the_known_need(tmp_path: Path) -> None:
    out = bisect_limit(KnownNeed(), _ctx(tmp_path, None))
    f = out.figures
    assert out.status == "ok" and f["converged"]
    assert f["max_failing_limit_mib"] < NEED <= f["min_limit_mib"]
    assert (f["min_limit_mib"] - f["max_failing_limit_mib"]) / f["min_limit_mib"] <= PRECISION
    assert f["unlimited_peak_mib"] == PEAK and f["probes"][0]["limit_mib"] is None


@pytest.mark.parametrize("cut", [1, 2, 4, 6])
def test_a_cut_bisection_goes_on_from_its_saved_probes(tmp_path: Path, cut: int) -> None:
    whole = KnownNeed()
    expected = bisect_limit(whole, _ctx(tmp_path, None))
    log = tmp_path / "probes" / "x-r0.jsonl"
    with pytest.raises(KeyboardInterrupt):
        bisect_limit(KnownNeed(cut=cut), _ctx(tmp_path, log))
    assert len(saved_probes(log)) == cut - 1
    again, notes = KnownNeed(), []
    resumed = bisect_limit(again, _ctx(tmp_path, log, notes))
    # only the probes the cut attempt did not finish are measured again
    assert again.calls == whole.calls[cut - 1:]
    # progress: a line per probe, saying which were kept
    assert len(notes) == len(whole.calls)
    assert sum("kept from before the resume" in n for n in notes) == cut - 1
    said = [n.split(":")[0] for n in notes]
    assert said == ["probe at no limit", *(f"probe at {c} MiB" for c in whole.calls[1:])]
    assert _without_times(resumed.figures) == _without_times(expected.figures)
    assert resumed.measure == expected.measure
    assert all(p["ended_at"] for p in resumed.figures["probes"])


def test_a_line_cut_short_is_measured_again(tmp_path: Path) -> None:
    log = tmp_path / "p.jsonl"
    with pytest.raises(KeyboardInterrupt):
        bisect_limit(KnownNeed(cut=4), _ctx(tmp_path, log))
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    assert len(saved_probes(log)) == 2
    again = KnownNeed()
    bisect_limit(again, _ctx(tmp_path, log))
    assert again.calls[0] == json.loads(lines[2])["limit_mib"]
