"""The evidence rule: a pair counts only where the option acted on its side."""

from __future__ import annotations

from report_fixtures import DEBUG_PUSHED, DEFERRED, PP_OFF, PP_USED, records, rows_by_key

from harness import guide
from harness.guide.evidence import acted

MANIFEST = {"load_mode": "DBT_MANIFEST"}


def test_partial_parse_refused_by_dbt_is_not_measured_with_dbt_reason() -> None:
    refused = {"dbt": {"partial_parse_used": False, "partial_parse_runs": [0, 1],
                       "reason": "saved manifest not found"}}
    rows = rows_by_key(
        records("task", 10, 350, 11, evidence=refused, **MANIFEST),
        records("task", 10, 300, 11, partial_parse=False, evidence=PP_OFF, **MANIFEST),
    )
    row = rows["partial_parse"]
    assert row.pairs and not row.pairs[0].acted
    assert row.verdict == guide.NOT_MEASURED
    assert row.reason is not None and "saved manifest not found" in row.reason


def test_partial_parse_used_counts() -> None:
    rows = rows_by_key(
        records("task", 10, 350, 11, evidence=PP_USED, **MANIFEST),
        records("task", 10, 300, 11, partial_parse=False, evidence=PP_OFF, **MANIFEST),
    )
    assert rows["partial_parse"].verdict == guide.OPPOSITE
    assert rows["partial_parse"].reason is None


def test_records_without_evidence_are_not_measured() -> None:
    rows = rows_by_key(
        records("task", 10, 350, 11, **MANIFEST),
        records("task", 10, 352, 16, debug_mode=True, **MANIFEST),
        records("dag_run", 10, 900, 60, slots=200, **MANIFEST),
        records("dag_run", 10, 500, 40, slots=50, execution_mode="WATCHER", **MANIFEST),
    )
    assert rows["debug_mode"].verdict == guide.NOT_MEASURED
    assert "pushed no figure" in (rows["debug_mode"].reason or "")
    assert rows["watcher"].verdict == guide.NOT_MEASURED
    assert "deferred" in (rows["watcher"].reason or "")


def test_acted_per_option() -> None:
    (watcher,) = records("dag_run", 10, 500, 40, reps=1, execution_mode="WATCHER",
                         evidence=DEFERRED, **MANIFEST)
    (none_deferred,) = records("dag_run", 10, 500, 40, reps=1, execution_mode="WATCHER",
                               evidence={"deferred_tasks": []}, **MANIFEST)
    (debug,) = records("task", 10, 1, 1, reps=1, debug_mode=True, evidence=DEBUG_PUSHED)
    assert acted("watcher", [watcher], []) == (True, "the sensors ran as deferrable")
    assert acted("watcher", [none_deferred], []) == (False, "no sensor was seen deferred")
    assert acted("debug_mode", [debug], [])[0] is True
    assert acted("dbt_manifest", [], []) == (True, "set by the harness")


def test_pairs_where_the_option_never_acted_are_out_of_the_adjustment() -> None:
    """The Benjamini-Hochberg family is the pairs that judge the option: an acted pair's
    q-value is the one it has alone, however many refused pairs sit beside it (with
    them in the family, four pairs of p near 1 would multiply its p by up to five)."""
    refused = {"dbt": {"partial_parse_used": False, "partial_parse_runs": [0, 1],
                       "reason": "saved manifest not found"}}
    acted_pair = (
        records("task", 10, 320, 11, evidence=PP_USED, **MANIFEST),
        records("task", 10, 300, 11, partial_parse=False, evidence=PP_OFF, **MANIFEST),
    )
    alone = rows_by_key(*acted_pair)["partial_parse"].pairs[0].changes["memory"]
    others = []
    for models in (20, 30, 40, 50):
        others += records("task", models, 300, 11, evidence=refused, **MANIFEST)
        others += records("task", models, 300, 11, partial_parse=False, evidence=PP_OFF, **MANIFEST)
    row = rows_by_key(*acted_pair, others)["partial_parse"]
    (judged,) = [p for p in row.pairs if p.acted]
    assert len(row.pairs) == 5
    assert alone.q_value is not None and alone.q_value < 0.05
    assert judged.changes["memory"].q_value == alone.q_value
    assert row.verdict == guide.OPPOSITE
    assert all(p.changes["memory"].q_value is None for p in row.pairs if not p.acted)


def test_the_twin_must_not_have_acted_either() -> None:
    """Both sides do what their labels say: a twin where dbt partially parsed anyway,
    debug mode pushed its figure or a sensor deferred leaves the pair out, with why."""
    (with_pp,) = records("task", 10, 350, 11, reps=1, evidence=PP_USED, **MANIFEST)
    (off,) = records("task", 10, 300, 11, reps=1, partial_parse=False, evidence=PP_OFF,
                     **MANIFEST)
    (off_used,) = records("task", 10, 300, 11, reps=1, partial_parse=False,
                          evidence={"dbt": {"partial_parse_used": None,
                                            "partial_parse_runs": [2, 3]}}, **MANIFEST)
    (off_unknown,) = records("task", 10, 300, 11, reps=1, partial_parse=False, **MANIFEST)
    assert acted("partial_parse", [with_pp], [off])[0] is True
    assert acted("partial_parse", [with_pp], [off_used]) == (
        False, "dbt partially parsed on the side without the option (2 times)")
    assert acted("partial_parse", [with_pp], [off_unknown]) == (
        False, "no record says what dbt did on the side without the option")
    (debug,) = records("task", 10, 1, 1, reps=1, debug_mode=True, evidence=DEBUG_PUSHED)
    (plain,) = records("task", 10, 1, 1, reps=1)
    (pushed_anyway,) = records("task", 10, 1, 1, reps=1, evidence=DEBUG_PUSHED)
    assert acted("debug_mode", [debug], [plain])[0] is True
    assert acted("debug_mode", [debug], [pushed_anyway])[0] is False
    (watcher,) = records("dag_run", 10, 500, 40, reps=1, execution_mode="WATCHER",
                         evidence=DEFERRED, **MANIFEST)
    (local,) = records("dag_run", 10, 900, 60, reps=1, evidence={"deferred_tasks": []},
                       **MANIFEST)
    (local_deferred,) = records("dag_run", 10, 900, 60, reps=1, evidence=DEFERRED,
                                **MANIFEST)
    assert acted("watcher", [watcher], [local])[0] is True
    assert acted("watcher", [watcher], [local_deferred]) == (
        False, "sensors deferred on the side without WATCHER")


def test_a_pair_whose_twin_broke_its_label_is_not_measured() -> None:
    used_anyway = {"dbt": {"partial_parse_used": True, "partial_parse_runs": [1, 1]}}
    rows = rows_by_key(
        records("task", 10, 350, 11, evidence=PP_USED, **MANIFEST),
        records("task", 10, 300, 11, partial_parse=False, evidence=used_anyway, **MANIFEST),
    )
    row = rows["partial_parse"]
    assert row.pairs and not row.pairs[0].acted
    assert row.verdict == guide.NOT_MEASURED
    assert "without the option" in (row.reason or "")
