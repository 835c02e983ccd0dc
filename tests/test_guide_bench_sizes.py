"""The bench's matrices give every guide row but WATCHER's a verdict at 1000 and 5000
models (issue 28; WATCHER's runs there are run_nodes slices, which do not judge it, and
its cells say so), with two repetitions a side (issue 32): scenarios/bench.toml
expanded as the runner expands it, each scenario given records built in code
(report_fixtures) whose figures follow a plain model of the options (a cold dbt ls
costs more and passes the 30 s import timeout at 1000 models and more, WATCHER less,
and so on), then judged by the guide. A matrix that no longer pairs, or pairs at one
repetition, empties a cell here."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import DEBUG_PUSHED, DEFERRED, PP_OFF, PP_USED, records

from harness import guide
from harness.compare.samples import group_scenarios
from harness.registry.values import AxisValues
from harness.scenarios.matrix import expand
from harness.scenarios.scenario_file import load_scenario_file
from harness.store.record import Record

BENCH = Path(__file__).parent.parent / "scenarios" / "bench.toml"


def _fails(phase: str, ax: AxisValues, models: int) -> bool:
    """A parse that goes past the import timeout: a cold full dbt ls at 1000 models and
    more, and any parse at 5000 under the default 30 s but CUSTOM's (bench-20261202b)."""
    if phase != "dag_parse" or models < 1000 or ax.dagbag_import_timeout == 300:
        return False
    cold_ls = ax.load_mode in ("DBT_LS", "AUTOMATIC") and ax.cache == "cold"
    partial = ax.partial_parse and ax.partial_parse_state == "cache_dir"
    return (cold_ls and not partial) or (models >= 5000 and ax.load_mode != "CUSTOM")


def _figures(phase: str, axes: dict[str, Any], models: int) -> tuple[float, float, dict]:
    """Peak MiB, seconds and evidence of one scenario, by a plain model of the options."""
    ax = AxisValues.of(axes)
    mib, secs = 300.0 + models * 0.1, 20.0 + models * 0.01
    if phase == "dag_parse" and ax.load_mode in ("DBT_LS", "AUTOMATIC") and ax.cache == "cold":
        mib, secs = mib * 1.6, secs * 2.5
    if phase in ("dag_parse", "task", "dag_run") and ax.partial_parse is not None:
        used = ax.partial_parse and ax.partial_parse_state in ("cache_dir", "shipped")
        if used:
            mib, secs = mib * 0.85, secs * 0.6
    if "SUBPROCESS" in (ax.render_invocation, ax.execution_invocation):
        mib *= 1.1
    if ax.execution_mode == "WATCHER":
        mib, secs = mib * 0.7, secs * 0.6
    if phase == "dag_run":
        mib *= 1 + 0.4 * ((ax.concurrency or 1) - 1)
    evidence: dict[str, Any] = {}
    if phase != "import":
        evidence |= PP_USED if ax.partial_parse and used else PP_OFF
    if ax.debug_mode:
        evidence |= DEBUG_PUSHED
    if phase == "dag_run" and ax.execution_mode == "WATCHER" and (ax.concurrency or 1) > 1:
        evidence |= DEFERRED  # WATCHER's sensors defer from two slots on (sizing-20261207b)
    if phase == "dag_run":
        evidence["task_slot_seconds"] = secs * (0.5 if ax.execution_mode == "WATCHER" else 1.0)
    margin = -0.5 if _fails(phase, ax, models) else 10.0
    evidence["timeout_margin"] = {"dagbag_import_timeout": margin}
    return mib, secs, evidence


@cache
def bench_records() -> tuple[Record, ...]:
    """One record per repetition of every measurement of the bench, as modelled above."""
    out: list[Record] = []
    for m in expand(load_scenario_file(BENCH)):
        values = dict(m.scenario.values)
        models = m.scenario.project.models or 10
        effective = dict(m.scenario.effective(m.phase))
        mib, secs, evidence = _figures(m.phase, effective, models)
        status = "error" if _fails(m.phase, AxisValues.of(effective), models) else "ok"
        project = models if m.phase != "import" else None
        out += records(m.phase, project, mib, secs, reps=m.repetitions, status=status,
                       evidence=evidence, **values)  # fmt: skip
    return tuple(out)


@cache
def bench_rows() -> dict[str, guide.GuideRow]:
    return {row.option.key: row for row in guide.evaluate(group_scenarios(bench_records()))}


@pytest.mark.parametrize(
    ("key", "sizes"),
    [
        ("dbt_manifest", (1000, 5000)),
        ("dbt_runner", (1000, 5000)),
        ("partial_parse", (1000, 5000)),
        ("concurrency", (1000, 5000)),
        ("debug_mode", (1000, 5000)),
    ],
)
def test_the_bench_gives_each_row_a_verdict_at_1000_and_5000_models(
    key: str, sizes: tuple[int, ...]
) -> None:
    row = bench_rows()[key]
    for size in sizes:
        assert row.size_verdicts.get(size) not in (None, *guide.SILENT), (size, row.size_verdicts)


def test_each_large_cell_comes_from_the_matrix_the_bench_file_says() -> None:
    rows = bench_rows()

    def places(key: str, size: int) -> set[str]:
        return {p.place for p in rows[key].pairs if p.size == size and p.acted}

    assert rows["dbt_manifest"].size_verdicts[1000] == guide.AVOIDS  # the 30 s timeout
    assert rows["dbt_manifest"].size_verdicts[5000] == guide.CONFIRMED  # both parse in 300 s
    assert places("dbt_runner", 1000) == {"dag_run"}  # run_nodes runs on the LocalExecutor
    assert places("dbt_runner", 5000) == {"dag_parse"}
    assert rows["partial_parse"].size_verdicts[1000] == guide.AVOIDS
    assert rows["partial_parse"].size_verdicts[5000] == guide.CONFIRMED
    for size in (1000, 5000):
        # The bench's WATCHER runs at these sizes are run_nodes slices: not judged, and said.
        assert size not in rows["watcher"].size_verdicts and not places("watcher", size)
        assert rows["watcher"].unjudged[size] == guide.options.SLICE_MISSES_PRODUCER
        assert places("debug_mode", size) == {"task"}
        (cost,) = [c for c in rows["concurrency"].slot_costs if c.size == size]
        assert cost.values == (1, 2) and cost.memory is not None and cost.memory.n == 4
        assert cost.memory.slope > 0


def test_every_pair_of_the_bench_has_two_repetitions_a_side() -> None:
    pairs = [p for row in bench_rows().values() for p in row.pairs]
    assert {1000, 5000} <= {p.size for p in pairs}
    thin = [(p.option, p.with_id, p.repetitions) for p in pairs if min(p.repetitions) < 2]
    assert not thin


def test_a_pair_of_one_repetition_would_empty_its_cell() -> None:
    """The check above can fail: the DAG runs at 1000 models once each say nothing."""
    once = [
        r for r in bench_records()
        if not (r.phase == "dag_run" and r.axes.get("models") == 1000 and r.repetition > 0)
    ]  # fmt: skip
    rows = {row.option.key: row for row in guide.evaluate(group_scenarios(once))}
    assert rows["dbt_runner"].size_verdicts[1000] == guide.UNTESTED
