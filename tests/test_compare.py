"""harness compare: significance and thresholds, exit codes, one-sided scenarios,
environment flags, and the pytest-benchmark export read by pytest-benchmark itself.

The statistics are tested on constructed measurements: the point is the decision
rule, not the stack (the report's test uses a recorded run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from compare_runs import BASE, MACHINE, MIB, VERSIONS, make_run, with_change

from harness.cli import main
from harness.compare import compare_runs, load_run
from harness.compare.diff import IMPROVEMENT, REGRESSION, UNTESTED_WORSE, WITHIN, Thresholds
from harness.compare.export import benchmark_stats, to_pytest_benchmark
from harness.compare.format import render_markdown
from harness.compare.stats import compare_samples
from harness.store.runinfo import read_run_info, write_run_info


# ---------------------------------------------------------------- statistics
def test_t_test_on_logs_decides_from_two_repetitions() -> None:
    # 3 against 3 with a clear +30%: significant (the U test could not go under p=0.1)
    three = compare_samples([1, 1.01, 0.99], [1.3, 1.31, 1.29])
    assert three.test == "t-test" and three.significant and three.df == 4
    assert three.ci_low is not None and 1.25 < three.ci_low < 1.3 < three.ci_high  # type: ignore[operator]
    single = compare_samples([1.0], [2.0])
    assert single.significant is None and single.ratio == 2.0


# ---------------------------------------------------------------- the decision
def test_injected_memory_regression_is_flagged(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    new = make_run(tmp_path, "new", with_change("mem", 1.30), seed=2)
    cmp = compare_runs(load_run(base), load_run(new))
    assert cmp.regressions == [("dag_parse/a", "memory")]
    m = cmp.scenarios[0].metrics["memory"]
    assert m.verdict == REGRESSION and m.change.test.startswith("t-test")
    assert 1.2 < m.change.ratio < 1.4
    assert main(["compare", str(base), str(new)]) == 1


@pytest.mark.parametrize("seed", range(10))
def test_noise_of_three_percent_is_not_flagged(tmp_path: Path, seed: int) -> None:
    base = make_run(tmp_path, "base", BASE, seed=100 + seed)
    new = make_run(tmp_path, "new", BASE, seed=200 + seed)
    cmp = compare_runs(load_run(base), load_run(new))
    assert not cmp.has_regression
    assert cmp.count(IMPROVEMENT) == 0
    assert main(["compare", str(base), str(new)]) == 0


def test_significant_change_below_threshold_is_no_regression(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1, noise=0.005)
    new = make_run(tmp_path, "new", with_change("mem", 1.06), seed=2, noise=0.005)
    cmp = compare_runs(load_run(base), load_run(new))
    m = cmp.scenarios[0].metrics["memory"]
    assert m.change.significant and m.verdict == WITHIN
    # ... but it is one with a 5% memory threshold.
    assert main(["compare", str(base), str(new), "--threshold-memory", "5"]) == 1


def test_per_metric_thresholds(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    new = make_run(tmp_path, "new", with_change("slots", 1.3, "dag_run/b"), seed=2)
    cmp = compare_runs(load_run(base), load_run(new))
    assert cmp.regressions == [("dag_run/b", "slots")]
    assert main(["compare", str(base), str(new), "--threshold-slots", "50"]) == 0
    assert (
        main(["compare", str(base), str(new), "--threshold", "50", "--threshold-slots", "10"]) == 1
    )
    cmp = compare_runs(load_run(base), load_run(new), Thresholds(slots=0.5))
    assert not cmp.has_regression


def test_improvement_is_not_a_regression(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    new = make_run(tmp_path, "new", with_change("time", 0.6), seed=2)
    cmp = compare_runs(load_run(base), load_run(new))
    assert cmp.scenarios[0].metrics["time"].verdict == IMPROVEMENT
    assert not cmp.has_regression


def test_single_repetition_is_never_called_significant(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, reps=1, seed=1)
    new = make_run(tmp_path, "new", with_change("mem", 1.5), reps=1, seed=2)
    cmp = compare_runs(load_run(base), load_run(new))
    assert cmp.scenarios[0].metrics["memory"].verdict == UNTESTED_WORSE
    assert not cmp.has_regression


def test_scenario_that_now_fails_is_a_regression(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    failing = {k: dict(v) for k, v in BASE.items()}
    failing["dag_run/b"]["status"] = "oom"
    new = make_run(tmp_path, "new", failing, seed=2)
    cmp = compare_runs(load_run(base), load_run(new))
    assert cmp.regressions == [("dag_run/b", "status")]
    assert "now fails: oom x5" in render_markdown(cmp)


def test_scenario_missing_from_new_fails_the_gate_new_only_is_listed(
    tmp_path: Path, capsys: Any
) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    extra = {**BASE, "task/c": {"phase": "task", "mem": 350, "time": 11.0}}
    new = make_run(tmp_path, "new", {k: v for k, v in extra.items() if k != "dag_run/b"}, seed=2)
    cmp = compare_runs(load_run(base), load_run(new))
    presence = {s.scenario_id: s.presence for s in cmp.scenarios}
    assert presence == {"dag_parse/a": "both", "dag_run/b": "base only", "task/c": "new only"}
    assert cmp.regressions == [("dag_run/b", "missing")]
    assert main(["compare", str(base), str(new), "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert "| `dag_run/b` |" in out and "base only" in out and "new only" in out
    assert "1 only in BASE (missing from NEW), 1 only in NEW" in out


def test_different_backend_and_machine_are_flagged(tmp_path: Path, capsys: Any) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    other = {**MACHINE, "node": "bench-2", "cpu": "Other CPU"}
    new = make_run(
        tmp_path,
        "new",
        BASE,
        seed=2,
        backend="sample",
        machine=other,
        versions={**VERSIONS, "astronomer-cosmos": "1.15.1"},
    )
    cmp = compare_runs(load_run(base), load_run(new))
    assert any("different memory backends: base cgroup1, new sample" in w for w in cmp.warnings)
    assert any("different machines" in w and "Other CPU" in w for w in cmp.warnings)
    assert ("astronomer-cosmos", "1.15.0", "1.15.1") in cmp.version_changes
    # flagged, not failed: the figures are still shown.
    assert main(["compare", str(base), str(new)]) == 0
    out = capsys.readouterr().out
    assert "WARNING: different memory backends" in out
    assert "astronomer-cosmos 1.15.0 -> 1.15.1" in out


def test_same_environment_is_not_flagged(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    new = make_run(tmp_path, "new", BASE, seed=2)
    assert compare_runs(load_run(base), load_run(new)).warnings == []


def _speeds(run_dir: Path, *loop_cpu_s: float) -> Path:
    info = read_run_info(run_dir)
    assert info is not None
    for s in loop_cpu_s:
        info.add_cpu_reference(s)
    write_run_info(run_dir, info)
    return run_dir


def test_different_machine_speeds_are_flagged(tmp_path: Path) -> None:
    """The same figures on a machine 1.5 times slower by the fixed loop: the times
    compare the machines too. Within 10% (the same machine's jitter) is not flagged."""
    base = _speeds(make_run(tmp_path, "base", BASE, seed=1), 0.100)
    new = _speeds(make_run(tmp_path, "new", BASE, seed=2), 0.150)
    (w,) = compare_runs(load_run(base), load_run(new)).warnings
    assert "different machine speeds" in w and "0.100 s" in w and "NEW/BASE 1.50" in w
    same = _speeds(make_run(tmp_path, "same", BASE, seed=3), 0.105)
    assert compare_runs(load_run(base), load_run(same)).warnings == []


def test_a_run_resumed_at_another_speed_is_flagged(tmp_path: Path) -> None:
    base = _speeds(make_run(tmp_path, "base", BASE, seed=1), 0.100)
    new = _speeds(make_run(tmp_path, "new", BASE, seed=2), 0.100, 0.104, 0.170)
    (w,) = compare_runs(load_run(base), load_run(new)).warnings
    assert w.startswith("new: its parts ran at different machine speeds") and "0.170" in w


# ---------------------------------------------------------------- the command line
def test_bad_input_exits_2(tmp_path: Path, capsys: Any) -> None:
    base = make_run(tmp_path, "base", BASE)
    assert main(["compare", str(base), str(tmp_path / "nope")]) == 2
    assert "neither a run folder nor a run id" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(base), str(tmp_path / "empty")]) == 2
    assert main(["compare", str(base), str(base), "--threshold", "-5"]) == 2
    err = capsys.readouterr().err
    # Refused in the name of the flag given, not of the metric it stands for (issue 31).
    assert "no results.jsonl" in err and "--threshold: " in err and "--threshold-" not in err


def test_run_ids_are_looked_up_under_results_dir(tmp_path: Path, capsys: Any) -> None:
    make_run(tmp_path, "base", BASE, seed=1)
    make_run(tmp_path, "new", BASE, seed=2)
    assert main(["compare", "base", "new", "--results-dir", str(tmp_path)]) == 0
    assert "BASE base vs NEW new" in capsys.readouterr().out


# ---------------------------------------------------------------- pytest-benchmark
def test_benchmark_stats_match_pytest_benchmark() -> None:
    from pytest_benchmark.stats import Stats

    data = [3.1, 2.9, 3.4, 3.0, 5.2, 3.05, 2.95]
    ref = Stats()
    for v in data:
        ref.update(v)
    ours = benchmark_stats(data)
    for field in Stats.fields:
        assert ours[field] == pytest.approx(getattr(ref, field)), field


def test_pytest_benchmark_export_is_read_by_pytest_benchmark_compare(tmp_path: Path) -> None:
    base = make_run(tmp_path, "base", BASE, seed=1)
    new = make_run(tmp_path, "new", with_change("time", 1.3), seed=2)
    out = tmp_path / "export"
    out.mkdir()  # the harness makes no missing folder above an output
    assert (
        main(
            [
                "compare",
                str(new),
                str(base),
                "--export-pytest-benchmark",
                str(out / "0001_base.json"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "compare",
                str(base),
                str(new),
                "--export-pytest-benchmark",
                str(out / "0002_new.json"),
            ]
        )
        == 1
    )
    doc = json.loads((out / "0002_new.json").read_text())
    assert doc["machine_info"]["cpu"]["count"] == 8
    assert doc["commit_info"]["id"] == "0" * 40
    bench = {b["name"]: b for b in doc["benchmarks"]}
    assert bench["dag_run/b"]["extra_info"]["task_slot_seconds"]["median"] > 100
    assert bench["dag_parse/a"]["extra_info"]["peak_tree_bytes"]["median"] > 400 * MIB
    assert bench["dag_parse/a"]["stats"]["rounds"] == 5

    cli = Path(sys.executable).with_name("pytest-benchmark")
    result = subprocess.run(
        [
            str(cli),
            "compare",
            str(out / "0001_base.json"),
            str(out / "0002_new.json"),
            "--group-by",
            "name",
            "--columns",
            "min,median,max,rounds",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert "Failed to load" not in text
    assert "dag_parse/a" in text and "dag_run/b" in text
    assert "0001_base" in text and "0002_new" in text


def test_export_leaves_out_scenarios_without_a_success(tmp_path: Path) -> None:
    failing = {k: dict(v) for k, v in BASE.items()}
    failing["dag_run/b"]["status"] = "error"
    doc = to_pytest_benchmark(load_run(make_run(tmp_path, "r", failing)))
    assert [b["name"] for b in doc["benchmarks"]] == ["dag_parse/a"]


def test_latest_is_the_run_written_last(tmp_path: Path) -> None:
    import os

    from harness.compare.runs import resolve_run

    for i, name in enumerate(["b", "a"]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.jsonl").write_text("")
        os.utime(tmp_path / name / "results.jsonl", (1000 + i, 1000 + i))
    assert resolve_run("latest", tmp_path) == tmp_path / "a"
