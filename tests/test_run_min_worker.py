"""The bisection of harness.run.recipes.min_worker, on a recipe whose need is known (it
fails under NEED MiB, and peaks at PEAK without a limit): where it ends, and that a
bisection cut short goes on from its saved probes instead of measuring them again. The
real-stack bisections are in test_load (min_worker) and test_run_own_project_sizing
(min_worker and pod_size)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bisection import assert_bracketed

from harness.errors import InputWarning
from harness.measure.result import MeasureResult
from harness.registry import AXES
from harness.run.context import Context, Outcome
from harness.run.recipes.min_worker import PRECISION, bisect_limit, saved_probes
from harness.scenarios.model import ProjectSpec, Scenario
from harness.stack.workspace import Workspace

NEED, PEAK = 700, 650
MIB = 1024 * 1024


class KnownNeed:
    """Fails (oom) under ``need`` MiB; counts its calls; raises KeyboardInterrupt at call
    ``cut`` as Ctrl-C would reach the runner in the middle of a probe; fails with an
    error (no OOM kill) the first time it runs under a limit of ``flaky``."""

    def __init__(self, cut: int | None = None, need: int = NEED,
                 flaky: frozenset[int | None] = frozenset(), peak: float = PEAK) -> None:
        self.calls: list[int | None] = []
        self.cut, self.need, self.flaky, self.peak = cut, need, set(flaky), peak

    def __call__(self, ctx: Context) -> Outcome:
        self.calls.append(ctx.limit_mib)
        if self.cut is not None and len(self.calls) == self.cut:
            raise KeyboardInterrupt
        limit = ctx.limit_mib or None
        if limit in self.flaky:
            self.flaky.discard(limit)
            m = MeasureResult("cgroup1", "error", 1, 1.5, 1.0, 0.2, PEAK * MIB, PEAK * MIB, 3,
                              limit * MIB if limit else None)
            return Outcome("error", m, "dag run failed; not successful: a_model_run", {})
        ok = limit is None or limit >= self.need
        peak = int((self.peak if ok else limit or 0) * MIB)
        m = MeasureResult("cgroup1", "ok" if ok else "oom", 0 if ok else -9, 1.5, 1.0, 0.2,
                          peak, peak, 3, limit * MIB if limit else None)
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


def _damaged(line: str, kind: str) -> str:
    """A saved probe's line damaged as ``kind`` says."""
    d = json.loads(line)
    changes: dict[str, Any] = {
        "status": {"status": "weird"},
        "measure": {"measure": {"backend": 3}},
        "figures": {"figures": {"workers": [{"peak_tree_bytes": "x"}]}},
        "row": {"row": "a row"},
        "limit": {"limit_mib": "700"},
        "attempt": {"attempt": 7},
    }.get(kind, {})
    raw = {"json": "{not json", "deep": "[" * 5000 + "]" * 5000, "list": "[]",
           "nan": line.replace('"wall_s": 1.5', '"wall_s": NaN')}  # fmt: skip
    return raw[kind] if kind in raw else json.dumps({**d, **changes})


@pytest.mark.parametrize(
    "kind",
    ["json", "deep", "list", "nan", "status", "measure", "figures", "row", "limit", "attempt"],
)
def test_a_damaged_probe_is_skipped_with_a_warning_and_measured_again(
    tmp_path: Path, kind: str
) -> None:
    """Issue 31: a probe file's line that is not a probe neither crashes the resume nor
    is taken as measured: it is named in one warning and its probe runs again."""
    log = tmp_path / "p.jsonl"
    with pytest.raises(KeyboardInterrupt):
        bisect_limit(KnownNeed(cut=4), _ctx(tmp_path, log))
    lines = log.read_text().splitlines()
    assert len(lines) == 3
    lines[1] = _damaged(lines[1], kind)
    log.write_text("\n".join(lines) + "\n")
    again, notes = KnownNeed(), []
    with pytest.warns(InputWarning, match=r"p.jsonl: skipped line 2 \(.*\): not a probe; "):
        resumed = bisect_limit(again, _ctx(tmp_path, log, notes))
    assert notes[0].startswith(f"warning: {log}: skipped line 2")
    whole = KnownNeed()
    expected = bisect_limit(whole, _ctx(tmp_path / "w", None))
    # the damaged second probe is measured again; the first and third are kept
    assert again.calls == [whole.calls[1], *whole.calls[3:]]
    assert _without_times(resumed.figures) == _without_times(expected.figures)


def test_a_probe_file_of_bytes_not_text(tmp_path: Path) -> None:
    log = tmp_path / "p.jsonl"
    log.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.warns(InputWarning, match=r"skipped line 1 \('utf-8' codec"):
        assert saved_probes(log) == {}


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


def test_a_need_above_the_first_ceiling_is_still_bracketed(tmp_path: Path) -> None:
    """One free run's peak is not the need: 1.1 x PEAK (715) fails, 1.25 x PEAK succeeds,
    and the bisection goes on from the failed ceiling, not from 0."""
    recipe = KnownNeed(need=760)
    f = bisect_limit(recipe, _ctx(tmp_path, None)).figures
    assert recipe.calls[:3] == [0, 715, 813]
    assert f["max_failing_limit_mib"] < 760 <= f["min_limit_mib"] and f["converged"]
    assert all(715 <= (c or 0) <= 813 for c in recipe.calls[1:])


def test_the_first_ceiling_follows_the_peak_as_recorded(tmp_path: Path) -> None:
    """A reader of the record must find the limits tried from the peak it shows: 451.84 MiB
    is recorded 451.8, and 1.1 x 451.8 asks for 497 (1.1 x 451.84 would ask for 498, the
    off-by-one CI caught)."""
    recipe = KnownNeed(need=480, peak=451.84)
    f = bisect_limit(recipe, _ctx(tmp_path, None)).figures
    assert f["unlimited_peak_mib"] == 451.8 and recipe.calls[1] == 497


def test_a_need_above_every_ceiling_is_an_error_that_says_so(tmp_path: Path) -> None:
    recipe = KnownNeed(need=2000)
    out = bisect_limit(recipe, _ctx(tmp_path, None))
    assert out.status == "error" and out.reason == "fails under 1.5 x its own peak (975 MiB)"
    assert recipe.calls == [0, 715, 813, 975]


def test_a_failure_without_an_oom_kill_is_run_again_and_the_repeat_decides(
    tmp_path: Path,
) -> None:
    plain = KnownNeed()
    expected = bisect_limit(plain, _ctx(tmp_path, None)).figures
    flaky = KnownNeed(flaky=frozenset({715}))
    f = bisect_limit(flaky, _ctx(tmp_path, None)).figures
    # the same bracket as without the flaky run, one call more
    assert (f["min_limit_mib"], f["max_failing_limit_mib"]) == (
        expected["min_limit_mib"], expected["max_failing_limit_mib"])
    assert flaky.calls == [0, 715, *plain.calls[1:]]
    first, again = f["probes"][1:3]
    assert first["status"] == "error" and "not successful" in first["reason"]
    assert again == {**again, "limit_mib": 715, "status": "ok", "attempt": 1}
    assert f["repeated_probes"] == 1 and expected["repeated_probes"] == 0


def test_an_oom_kill_is_not_run_again(tmp_path: Path) -> None:
    recipe = KnownNeed()
    bisect_limit(recipe, _ctx(tmp_path, None))
    assert len(recipe.calls) == len(set(recipe.calls))


def test_a_bisection_cut_in_a_repeat_keeps_the_first_failure(tmp_path: Path) -> None:
    log = tmp_path / "p.jsonl"
    with pytest.raises(KeyboardInterrupt):
        bisect_limit(KnownNeed(cut=3, flaky=frozenset({715})), _ctx(tmp_path, log))
    assert set(saved_probes(log)) == {(None, 0), (715, 0)}
    again = KnownNeed()  # the repeat is what was cut: measured now, and it succeeds
    f = bisect_limit(again, _ctx(tmp_path, log)).figures
    assert again.calls[0] == 715 and [p.get("attempt", 0) for p in f["probes"][:3]] == [0, 0, 1]


@pytest.mark.parametrize("need, flaky", [(NEED, None), (760, None), (NEED, 715), (NEED, 357)])
def test_the_real_stack_check_of_a_bisection_holds_on_known_ones(
    tmp_path: Path, need: int, flaky: int | None
) -> None:
    """tests/bisection.py, which the real-stack modules use, accepts the bisections whose
    need is known (a ceiling failing, a repeat at the limit found and below it) and
    rejects one that reports a limit it failed under."""
    ctx = dataclasses.replace(_ctx(tmp_path, None), bisect_steps=1)
    out = bisect_limit(KnownNeed(need=need, flaky=frozenset({flaky})), ctx)

    def record(**changed: Any) -> Any:
        f = SimpleNamespace(**{**out.figures, **changed})
        return SimpleNamespace(status=out.status, reason=out.reason, figures=f,
                               measure=out.measure)  # fmt: skip

    assert_bracketed(record(), halvings=1)
    with pytest.raises(AssertionError):
        assert_bracketed(record(min_limit_mib=out.figures["max_failing_limit_mib"]), 1)
