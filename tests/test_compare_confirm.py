"""harness compare with earlier nights: a single repetition's regression fails the gate
only when the previous night (the newest --history run by started_at, BASE aside) shows
it too against the same BASE; otherwise it is listed as suspected and exits 0. Scenarios
with 2+ repetitions on both sides are judged without confirmation.

Constructed runs (tests/compare_runs.py's make_run): the point is the decision rule; its
rates on the recorded noise are measured in tests/test_compare_stats.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compare_runs import BASE, make_run, with_change

from harness.cli import main
from harness.compare import compare_runs, load_run
from harness.compare.diff import REGRESSION, SUSPECTED
from harness.compare.format import render_markdown
from harness.compare.nights import by_start, previous_night
from harness.store.runinfo import read_run_info, write_run_info


def _dict(run: Path) -> dict:
    info = read_run_info(run)
    return info.to_dict() if info else {}

SID = "dag_parse/a"


def _night(
    tmp: Path, name: str, day: int, factor: float = 1.0, reps: int = 1, seed: int = 0
) -> Path:
    """A run started on 2026-01-``day``, SID's memory times ``factor``."""
    run = make_run(tmp, name, with_change("mem", factor), reps=reps, seed=seed or day)
    write_run_info(run, {**_dict(run), "started_at": f"2026-01-{day:02d}T02:17:00+00:00"})
    return run


def _nights(tmp: Path, regressed: str = "", reps: int = 1) -> dict[str, Path]:
    """BASE (day 1), earlier nights n2..n5 (days 2-5), NEW (day 6, SID's memory +50%);
    ``regressed``: the earlier night that has the +50% too."""
    runs = {"base": _night(tmp, "base", 1, reps=reps)}
    for day in range(2, 6):
        name = f"n{day}"
        runs[name] = _night(tmp, name, day, 1.5 if name == regressed else 1.0, reps)
    runs["new"] = _night(tmp, "new", 6, 1.5, reps)
    return runs


def _compare(runs: dict[str, Path], order: list[str]) -> Any:
    history = [load_run(runs[n]) for n in order]
    return compare_runs(load_run(runs["base"]), load_run(runs["new"]), history=history)


def test_the_previous_night_is_the_newest_by_started_at_base_and_new_aside(
    tmp_path: Path,
) -> None:
    runs = {name: load_run(_night(tmp_path, name, day)) for name, day in
            (("base", 1), ("n2", 2), ("n3", 3), ("new", 9))}
    shuffled = [runs["n3"], runs["base"], runs["n2"]]
    assert [r.run_id for r in by_start(shuffled)] == ["base", "n2", "n3"]
    previous = previous_night([*shuffled, runs["new"]], runs["base"], runs["new"])
    assert previous is not None and previous.run_id == "n3"
    assert previous_night([runs["base"]], runs["base"], runs["new"]) is None


def test_a_single_repetition_regression_on_its_first_night_is_suspected_exit_0(
    tmp_path: Path, capsys: Any
) -> None:
    runs = _nights(tmp_path)
    cmp = _compare(runs, ["n5", "n3", "base", "n2", "n4"])
    m = cmp.scenarios[0].metrics["memory"]
    assert m.to_confirm and m.verdict == SUSPECTED and m.previous is not None
    assert cmp.suspected == [(SID, "memory")] and cmp.regressions == []
    assert not cmp.has_regression and cmp.previous_id == "n5" and cmp.history_runs == 5
    history = [str(runs[n]) for n in ("n2", "n3", "n4", "n5")]
    assert main(["compare", str(runs["base"]), str(runs["new"]), "--history", *history]) == 0
    out = capsys.readouterr().out
    assert "suspected, to confirm tomorrow (" in out
    assert f"suspected  {SID}  memory: " in out and "SUSPECTED, to confirm tomorrow (q=" in out
    assert "not confirmed: previous night +" in out and "1 suspected (to confirm tomorrow)" in out
    md = render_markdown(cmp)
    assert "no regression: 0 regression(s), 1 suspected" in md
    assert "**Suspected, to confirm tomorrow** (" in md and f"- `{SID}` memory: " in md


def test_a_single_repetition_regression_on_two_nights_running_fails_the_gate(
    tmp_path: Path, capsys: Any
) -> None:
    runs = _nights(tmp_path, regressed="n5")
    cmp = _compare(runs, ["n5", "n3", "base", "n2", "n4"])
    m = cmp.scenarios[0].metrics["memory"]
    assert m.verdict == REGRESSION and cmp.regressions == [(SID, "memory")]
    assert cmp.suspected == [] and cmp.has_regression
    history = [str(runs[n]) for n in ("n5", "n2", "n3", "n4")]
    assert main(["compare", str(runs["base"]), str(runs["new"]), "--history", *history]) == 1
    assert "confirmed by previous night +5" in capsys.readouterr().out


def test_an_older_night_does_not_confirm(tmp_path: Path) -> None:
    # n2 has the step too, given last but older than n5 (the previous night): it does not
    # confirm; its +50% counts in the night-to-night spread instead
    runs = _nights(tmp_path, regressed="n2")
    cmp = _compare(runs, ["n3", "n4", "n5", "n2"])
    assert cmp.previous_id == "n5" and cmp.regressions == [] and not cmp.has_regression


def test_two_repetitions_or_more_need_no_confirmation(tmp_path: Path) -> None:
    runs = _nights(tmp_path, reps=3)
    cmp = _compare(runs, ["n2", "n3", "n4", "n5"])
    m = cmp.scenarios[0].metrics["memory"]
    assert not m.to_confirm and m.previous is None and m.verdict == REGRESSION
    assert cmp.has_regression and cmp.suspected == []


def test_without_history_nothing_is_confirmed_or_suspected(tmp_path: Path) -> None:
    runs = _nights(tmp_path)
    cmp = compare_runs(load_run(runs["base"]), load_run(runs["new"]))
    m = cmp.scenarios[0].metrics["memory"]
    assert not m.to_confirm and m.verdict != SUSPECTED and cmp.suspected == []
    assert cmp.previous_id is None and BASE[SID]["mem"] == 500
