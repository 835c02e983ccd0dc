"""harness.store.current: which records an answer across runs uses, on small hand-made
runs (a figure reproduced, one not, a bisection that did not converge, a scenario
measured once, failures)."""

from __future__ import annotations

from typing import Any

from harness.measure.result import MeasureResult
from harness.store.current import MIB, Current, RunRecords, current_records, headline_mib
from harness.store.record import Record

PEAK_SID = "dag_parse/layered-10-s0/load_mode=DBT_MANIFEST"
BISECT_SID = "min_worker/layered-100-s0/execution_mode=WATCHER/worker_concurrency=1"


def peak(run_id: str, mib: float, sid: str = PEAK_SID, rep: int = 0, status: str = "ok") -> Record:
    """A repetition whose figure is its tree's peak."""
    measure = MeasureResult(
        backend="cgroup1", status="ok" if status == "ok" else "error", exit_code=0,
        wall_s=1.0, user_cpu_s=0.5, system_cpu_s=0.1,
        peak_tree_bytes=int(mib * MIB), peak_single_bytes=int(mib * MIB), processes_seen=1,
    )  # fmt: skip
    return Record(run_id, sid, "dag_parse", {}, rep, status, measure=measure)  # type: ignore[arg-type]


def bisection(run_id: str, limit: int | None, converged: bool | None = True) -> Record:
    """A min_worker record: its figure is the smallest limit it ran in."""
    figures: dict[str, Any] = {"min_limit_mib": limit, "converged": converged}
    return Record(run_id, BISECT_SID, "min_worker", {}, 0, "ok", figures=figures)


def run(run_id: str, started_at: str, *records: Record) -> RunRecords:
    """One run's records as a cross-run reader hands them."""
    return RunRecords(run_id, started_at, list(records))


def used_from(current: Current, sid: str) -> list[str]:
    """The runs whose records of ``sid`` are used, in the order used."""
    return [r.run_id for r in current.records if r.scenario_id == sid]


OLD, NEW = "2026-12-01T00:00:00+00:00", "2026-12-02T00:00:00+00:00"


def test_a_reproduced_figure_is_pooled() -> None:
    # within 10% of the newer run's figure: both runs' repetitions are used
    current = current_records(
        [run("new", NEW, peak("new", 500)), run("old", OLD, peak("old", 530))]
    )
    assert sorted(used_from(current, PEAK_SID)) == ["new", "old"]
    assert current.pooled == {PEAK_SID: ["old", "new"]}  # in the order the runs started
    assert current.superseded == []


def test_a_figure_not_reproduced_is_superseded_by_the_newer_run() -> None:
    # the order given does not matter: runs are ordered by started_at
    current = current_records(
        [run("new", NEW, bisection("new", 484)), run("old", OLD, bisection("old", 846))]
    )
    assert used_from(current, BISECT_SID) == ["new"]
    assert current.pooled == {}
    [s] = current.superseded
    assert (s.run_id, s.scenario_id, s.figure_mib) == ("old", BISECT_SID, 846)
    assert (s.by_run_id, s.by_figure_mib) == ("new", 484)
    assert s.why.startswith("not reproduced")
    assert "846 MiB against 484 MiB" in s.why


def test_the_median_of_a_runs_repetitions_is_its_figure() -> None:
    old = run("old", OLD, peak("old", 100, rep=0), peak("old", 560, rep=1), peak("old", 570, rep=2))
    current = current_records([old, run("new", NEW, peak("new", 520))])
    assert current.pooled == {PEAK_SID: ["old", "new"]}  # median 560: within 10% of 520
    assert len(used_from(current, PEAK_SID)) == 4


def test_a_bisection_that_did_not_converge_is_superseded_by_a_converged_one() -> None:
    # the converged bisection is the reference even where it is the older run,
    # and the same figure does not pool an unconverged bisection with it
    for old_conv, new_conv in ((False, True), (True, False)):
        current = current_records(
            [
                run("old", OLD, bisection("old", 500, converged=old_conv)),
                run("new", NEW, bisection("new", 510, converged=new_conv)),
            ]
        )
        good = "new" if new_conv else "old"
        bad = "old" if new_conv else "new"
        assert used_from(current, BISECT_SID) == [good]
        [s] = current.superseded
        assert (s.run_id, s.by_run_id) == (bad, good)
        assert "did not converge" in s.why
        assert current.pooled == {}


def test_a_scenario_of_one_run_only_is_used() -> None:
    other = "dag_parse/layered-100-s0/load_mode=DBT_LS"
    current = current_records(
        [run("old", OLD, peak("old", 300, sid=other)), run("new", NEW, peak("new", 500))]
    )
    assert used_from(current, other) == ["old"]
    assert used_from(current, PEAK_SID) == ["new"]
    assert current.superseded == [] and current.pooled == {}


def test_a_failure_is_superseded_by_a_success_of_either_run() -> None:
    # an older failure: the newer run measured it
    current = current_records(
        [run("old", OLD, peak("old", 0, status="error")), run("new", NEW, peak("new", 500))]
    )
    assert used_from(current, PEAK_SID) == ["new"]
    [s] = current.superseded
    assert (s.run_id, s.figure_mib, s.by_run_id, s.by_figure_mib) == ("old", None, "new", 500)
    # a newer failure does not hide an older success: the success is the reference
    current = current_records(
        [run("old", OLD, peak("old", 500)), run("new", NEW, peak("new", 0, status="oom"))]
    )
    assert used_from(current, PEAK_SID) == ["old"]
    [s] = current.superseded
    assert (s.run_id, s.figure_mib, s.by_run_id, s.by_figure_mib) == ("new", None, "old", 500)


def test_headline_figures() -> None:
    assert headline_mib(bisection("r", 484)) == 484
    assert headline_mib(peak("r", 512)) == 512
    assert headline_mib(peak("r", 512, status="error")) is None


def test_the_reason_names_the_right_run_when_the_older_run_is_used() -> None:
    failed = current_records(
        [run("old", OLD, peak("old", 500)), run("new", NEW, peak("new", 0, status="oom"))]
    )
    unconverged = current_records(
        [run("old", OLD, bisection("old", 500)), run("new", NEW, bisection("new", 510, False))]
    )
    for current in (failed, unconverged):
        [s] = current.superseded
        assert "newer" not in s.why
