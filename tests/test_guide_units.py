"""Unit tests of the memory guide's modules (harness.guide), each on a few records built
in code (report_fixtures.records): the contrasts an option declares, the verdict of one
change, a failed side, the cost per slot, and a change summarised over pairs."""

from __future__ import annotations

from report_fixtures import DEFERRED, records

from harness.compare.effect import state as effect_state
from harness.compare.samples import group_scenarios
from harness.compare.stats import compare_samples
from harness.guide import failed_sides, options, rows, slots, verdict
from harness.report import guide_summary


def test_an_option_pairs_its_lowest_value_against_each_higher_one() -> None:
    assert options.lowest_against_higher([4, 1, 2]) == [(1, 2), (1, 4)]
    assert options.fixed(True, False)([True, False]) == [(True, False)]
    assert options.fixed(True, False)([True]) == []
    assert [o.key for o in options.OPTIONS][:1] and len(options.OPTIONS) == 7


def test_a_change_under_the_minimum_effect_is_no_difference() -> None:
    base = [100.0, 101.0, 99.0, 100.5, 99.5]
    half = [v / 2 for v in base]
    assert verdict.outcome(compare_samples(base, half)) == verdict.IMPROVED
    assert verdict.outcome(compare_samples(half, base)) == verdict.WORSENED
    near = [v * 1.01 for v in base]
    assert verdict.outcome(compare_samples(base, near)) == verdict.SAME
    assert verdict.outcome(compare_samples([100.0], [50.0])) == verdict.UNKNOWN


def test_a_scenario_is_failed_only_when_every_repetition_failed() -> None:
    ok = records("dag_run", 10, 300, 30, reps=2, load_mode="DBT_MANIFEST")
    oom = records("dag_run", 10, 300, 30, reps=2, status="oom", load_mode="DBT_LS")
    mixed = records("dag_run", 10, 300, 30, reps=2, load_mode="CUSTOM")
    mixed[1] = records("dag_run", 10, 300, 30, reps=2, status="timeout", load_mode="CUSTOM")[1]
    by_mode = {s.axes["load_mode"]: s for s in group_scenarios(ok + oom + mixed).values()}
    assert effect_state(by_mode["DBT_MANIFEST"]) == "ok"
    assert effect_state(by_mode["DBT_LS"]) == "failed"
    assert effect_state(by_mode["CUSTOM"]) is None


def test_concurrency_costs_its_fitted_mib_per_slot() -> None:
    recs = [
        r
        for c, mib in ((1, 300), (2, 400), (4, 600))
        for r in records("dag_run", 10, mib, 30, concurrency=c, load_mode="DBT_MANIFEST")
    ]
    (option,) = [o for o in options.OPTIONS if o.key == "concurrency"]
    (cost,) = slots.slot_costs(option, group_scenarios(recs))
    assert cost.values == (1, 2, 4) and cost.size == 10
    assert cost.memory is not None and 95 < cost.memory.slope < 105
    assert slots.slot_lines(cost)[0].startswith("memory +")


def test_a_change_over_several_pairs_is_their_median_and_range() -> None:
    base = [100.0, 101.0, 99.0]
    pairs = [
        rows.Pair("o", "c", "dag_run", 10, True, False, "a", "b",
                  {"memory": compare_samples(base, [v * k for v in base])})
        for k in (0.5, 0.6, 0.9)
    ]  # fmt: skip
    summary = rows.summarise(pairs, "memory")
    assert summary is not None
    assert (summary.n_pairs, summary.note) == (3, "range")
    assert round(summary.ratio, 3) == 0.6 and round(summary.low or 0, 3) == 0.5
    assert rows.summarise(pairs, "time") is None
    assert rows.summarise(pairs[:1], "memory").note == "CI"  # type: ignore[union-attr]


def test_a_failed_side_decides_and_names_the_margin_under_the_memory_limit() -> None:
    contrast = next(c for o in options.OPTIONS for c in o.contrasts if c.axis == "load_mode")
    ok = records("dag_run", 10, 300, 30, reps=2, load_mode="DBT_MANIFEST", worker_limit_mib=512)
    oom = records("dag_run", 10, 300, 30, reps=2, status="oom", load_mode="DBT_LS",
                  worker_limit_mib=512)  # fmt: skip
    by_mode = {s.axes["load_mode"]: s for s in group_scenarios(ok + oom).values()}
    fields = failed_sides.failure_fields(
        contrast, by_mode["DBT_MANIFEST"], by_mode["DBT_LS"], ("ok", "failed"))
    assert fields["failure"] == verdict.AVOIDS
    assert fields["failed"].startswith("load_mode=DBT_LS failed every repetition (oom")
    # 512 MiB limit, peaks about 300 MiB: the margin is the limit less the largest peak
    peak = max(r.measure.peak_tree_bytes for r in ok if r.measure) / 2**20
    want = f"peak {peak:.0f} MiB, {512 - peak:.0f} MiB under the 512 MiB limit"
    assert fields["margin"] == f"load_mode=DBT_MANIFEST: {want}"


def _watcher_row(**axes: object) -> rows.GuideRow:
    """WATCHER 25% under LOCAL in memory, 20% over it in slot-seconds (a slice's shape:
    one producer build of the selected models against their tasks), deferred sensors."""
    recs = records("dag_run", 1000, 450, 40, reps=3, slots=120, evidence=DEFERRED,
                   execution_mode="WATCHER", **axes)  # fmt: skip
    recs += records("dag_run", 1000, 600, 40, reps=3, slots=100, **axes)
    (row,) = [r for r in rows.evaluate(group_scenarios(recs)) if r.option.key == "watcher"]
    return row


def test_watcher_is_not_judged_on_a_slice() -> None:
    """On a run of N of the models WATCHER's producer builds the slice, not the project:
    no pair, and the size says why; on the whole run the same figures judge the row
    (memory better, slot-seconds worse: mixed)."""
    sliced = _watcher_row(run_nodes=2)
    assert sliced.pairs == [] and sliced.verdict == verdict.NOT_MEASURED
    assert sliced.unjudged == {1000: options.SLICE_MISSES_PRODUCER}
    assert guide_summary._cell(sliced, 1000) == f"not judged: {options.SLICE_MISSES_PRODUCER}"
    whole = _watcher_row()
    assert whole.pairs[0].metrics == ()  # the option's own: memory and slots
    assert whole.verdict == verdict.MIXED and whole.unjudged == {}
