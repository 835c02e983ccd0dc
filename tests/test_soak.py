"""The soak phase (leak check): the growth fit against known truths, and a short
soak of both invocation modes on the real stack (Airflow, Cosmos, dbt, DuckDB)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from harness.run.probes.soak import model_names, parse_args
from harness.run.recipes.soak import LEAK_KIB_PER_TASK, fit_growth, soak_figures, warmup_tasks
from harness.store.jsonl import read_records

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def series(slope_kib: float, n: int = 200, noise_kib: float = 0.0, seed: int = 0) -> list[float]:
    """Bytes after each task: 300 MiB, a 130 MiB jump at task 1 (dbt's import), then
    ``slope_kib`` per task with Gaussian noise."""
    rng = random.Random(seed)
    out = [170.0 * MIB]
    for i in range(1, n + 1):
        out.append(300 * MIB + i * slope_kib * 1024 + rng.gauss(0, noise_kib * 1024))
    return out


def report_of(values: list[float]) -> dict[str, object]:
    """A probe report with ``values`` as the RSS series."""
    samples = [
        {
            "task": i,
            "model": None if i == 0 else f"m{i % 7}",
            "seconds": None if i == 0 else 0.5,
            "rss": int(v),
            "uss": int(v) - 20 * MIB,
            "pss": int(v) - 10 * MIB,
            "vms": int(v) * 4,
            "threads": 10,
            "fds": 9,
            "gc_objects": 300_000 + 5 * i,
        }
        for i, v in enumerate(values)
    ]
    return {
        "schema": 1,
        "meta": {"invocation": "DBT_RUNNER", "partial_parse": True, "models": 7,
                 "tasks_planned": len(values) - 1},
        "baseline": samples[0],
        "tasks": samples[1:],
        "error": None,
    }


def test_fit_recovers_a_known_slope_and_flags_above_one_mib() -> None:
    values = series(2048.0, noise_kib=512.0)
    start = warmup_tasks(200) + 1
    g = fit_growth(values, start)
    assert g is not None
    assert g.points == 200 - start + 1
    assert abs(g.slope - 2048.0) < 50
    assert g.ci95[0] < 2048.0 < g.ci95[1]
    assert g.r2 > 0.9
    assert abs(g.theil_sen - 2048.0) < 80
    assert g.leak


def test_flat_series_is_not_flagged_and_its_interval_holds_zero() -> None:
    g = fit_growth(series(0.0, noise_kib=2048.0), warmup_tasks(200) + 1)
    assert g is not None
    assert g.ci95[0] < 0.0 < g.ci95[1]
    assert abs(g.slope) < 200
    assert g.r2 < 0.1
    assert not g.leak


def test_slow_growth_below_the_threshold_is_measured_but_not_flagged() -> None:
    g = fit_growth(series(100.0, noise_kib=50.0), 21)
    assert g is not None and abs(g.slope - 100.0) < 5 and not g.leak
    # Just above the threshold is flagged; exactly flat fits exactly.
    above = fit_growth(series(LEAK_KIB_PER_TASK + 64), 21)
    assert above is not None and above.leak
    flat = fit_growth([5.0 * MIB] * 10)
    assert flat is not None and flat.slope == 0.0 and flat.ci95 == (0.0, 0.0)


def test_warmup_keeps_the_import_jump_out_of_the_fit() -> None:
    values = series(0.0, n=20)
    # The 130 MiB jump from the baseline (index 0) to task 1 is dbt's import, not growth:
    # with the baseline in the fit a flat 20-task series would be flagged as a leak.
    with_jump = fit_growth(values, 0)
    assert with_jump is not None and with_jump.leak
    without = fit_growth(values, 1)
    assert without is not None and without.slope == pytest.approx(0.0, abs=1e-6)
    assert warmup_tasks(200) == 20
    assert warmup_tasks(20) == 3
    assert warmup_tasks(5) == 2  # at least 3 points are left to fit
    assert warmup_tasks(2) == 0
    assert fit_growth(values[:3], 1) is None


def test_figures_of_a_probe_report() -> None:
    f = soak_figures(report_of(series(1500.0, n=50, noise_kib=100.0)))
    assert f["tasks"] == 50 and f["warmup_tasks"] == 5
    assert len(f["rss_mib"]) == 51 and len(f["uss_mib"]) == 51
    assert f["leak_flag"] is True
    assert 1400 < f["growth_per_task_kib"] < 1600
    lo, hi = f["growth_ci95_kib"]
    assert lo < f["growth_per_task_kib"] < hi
    assert 1300 < f["growth_second_half_kib"] < 1700
    assert f["gc_objects_per_task"] == pytest.approx(5.0)
    assert f["baseline_rss_mib"] == 170.0 and f["first_task_rss_mib"] > 300
    assert f["fds"] == [9, 9] and f["task_s_median"] == 0.5
    flat = soak_figures(report_of(series(0.0, n=30, noise_kib=300.0, seed=3)))
    assert flat["leak_flag"] is False
    # A report cut short before any task: the series is there, no fit.
    short = soak_figures(report_of(series(0.0, n=0)))
    assert short["tasks"] == 0 and short["growth_per_task_kib"] is None


def test_probe_reads_models_from_a_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        '{"metadata": {"project_name": "p"}, "nodes": {'
        '"model.p.b": {"name": "b", "resource_type": "model", "package_name": "p", "config": {}},'
        '"model.p.a": {"name": "a", "resource_type": "model", "package_name": "p", "config": {}},'
        '"model.p.e": {"name": "e", "resource_type": "model", "package_name": "p",'
        ' "config": {"materialized": "ephemeral"}},'
        '"model.q.c": {"name": "c", "resource_type": "model", "package_name": "q", "config": {}},'
        '"seed.p.s": {"name": "s", "resource_type": "seed", "package_name": "p", "config": {}}}}'
    )
    assert model_names(manifest) == ["a", "b"]
    args = parse_args(["--project-dir", "p", "--profiles-dir", "d", "--profile", "x",
                       "--models", "a", "--cache-dir", "c", "--tmp-dir", "t", "--out", "o",
                       "--no-partial-parse", "--invocation", "SUBPROCESS", "--tasks", "3"])
    assert args.partial_parse is False and args.invocation == "SUBPROCESS" and args.tasks == 3
    with pytest.raises(SystemExit):
        parse_args(["--project-dir", "p", "--profiles-dir", "d", "--profile", "x",
                    "--cache-dir", "c", "--tmp-dir", "t", "--out", "o"])


def test_probe_imports_only_the_stack() -> None:
    """Probes measure the stack alone: no harness module besides the probes package."""
    text = (ROOT / "harness/run/probes/soak.py").read_text()
    lines = [ln.strip() for ln in text.splitlines()]
    imports = [ln for ln in lines if ln.startswith(("import ", "from "))]
    assert not [ln for ln in imports if "harness" in ln]


@pytest.mark.slow
def test_short_soak_on_the_real_stack(tmp_path: Path) -> None:
    """A short soak of both invocation modes on 10 models, through `harness run`.

    SUBPROCESS costs ~5 s per task (a dbt start each), so it runs 6 tasks; DBT_RUNNER
    ~0.5 s per task after its first, so it runs 12 (3 of each are warm-up)."""
    scenario = tmp_path / "soak-small.toml"
    scenario.write_text(
        'description = "soak test"\nrepetitions = 1\ntimeout_s = 600\n'
        '[[matrix]]\nname = "runner"\nphases = ["soak"]\nmodels = 10\n'
        'soak_tasks = 12\nexecution_invocation = "DBT_RUNNER"\n'
        '[[matrix]]\nname = "subprocess"\nphases = ["soak"]\nmodels = 10\n'
        'soak_tasks = 6\nexecution_invocation = "SUBPROCESS"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(scenario),
         "--results-dir", str(tmp_path / "results"), "--run-id", "x"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    records = {r.axes["execution_invocation"]: r
               for r in read_records(tmp_path / "results" / "x" / "results.jsonl")}
    assert set(records) == {"DBT_RUNNER", "SUBPROCESS"}
    for invocation, r in records.items():
        f = r.figures
        tasks = 12 if invocation == "DBT_RUNNER" else 6
        assert r.status == "ok", r.reason
        assert r.measure is not None and r.measure.peak_tree_bytes > 0
        assert f.invocation == invocation and f.tasks == tasks and f.warmup_tasks == 3
        assert len(f.rss_mib) == tasks + 1
        assert isinstance(f.growth_per_task_kib, float)
        assert f.leak_flag in (True, False)
    runner, sub = records["DBT_RUNNER"].figures, records["SUBPROCESS"].figures
    # dbt lives in the long-lived process only with DBT_RUNNER: its first task imports it.
    assert runner.first_task_rss_mib - runner.baseline_rss_mib > 60
    assert sub.first_task_rss_mib - sub.baseline_rss_mib < 60
    # ... and with SUBPROCESS the tree holds dbt children besides the parent.
    assert records["SUBPROCESS"].measure is not None
    assert records["SUBPROCESS"].measure.processes_seen > 5
    # dbt wrote nothing into the generated project (target/ and logs/ stay in the run).
    project = tmp_path / "synthetic_projects" / "layered-10-s0"  # the run's own, not the repo's
    assert (project / "dbt_project.yml").exists()
    assert not (project / "target").exists() and not (project / "logs").exists()


class _FakeProject:
    path = Path("/nonexistent/project")
    profiles_dir = Path("/nonexistent/profile")
    profile_name = "p"
    target_name = "dev"

    def __init__(self, root: Path) -> None:
        self.root = root

    def built_warehouse(self) -> Path:
        db = self.root / "built.duckdb"
        db.write_bytes(b"")
        return db

    def manifest(self) -> Path:
        return self.root / "manifest.json"


def _fake_ctx(tmp_path: Path, probe_json: str | None, exit_code: int) -> object:
    """A Context stand-in whose measured command 'crashes' after writing its log."""
    from types import SimpleNamespace

    from harness.measure.result import MeasureResult

    ws = SimpleNamespace(root=tmp_path, warehouse=tmp_path / "w.duckdb",
                         cache_dir=tmp_path / "cache", tmp=tmp_path / "tmp")
    log = tmp_path / "soak.log"

    def run(cmd: list[str], env: dict[str, str]) -> MeasureResult:
        assert "harness.run.probes.soak" in cmd
        log.write_text("starting\nTraceback (most recent call last):\nMemoryError: boom\n")
        if probe_json is not None:
            (tmp_path / "soak.json").write_text(probe_json)
        return MeasureResult("sample", "error", exit_code, 1.0, 1.0, 0.1, 100 * MIB, 90 * MIB, 2)

    return SimpleNamespace(
        project=_FakeProject(tmp_path), ws=ws, log=log, run=run, env=lambda: {},
        axes={"soak_tasks": 5, "execution_invocation": "DBT_RUNNER", "partial_parse": True},
    )


def test_a_probe_crash_is_an_error_with_the_log_tail(tmp_path: Path) -> None:
    from harness.run.recipes.soak import run_soak

    outcome = run_soak(_fake_ctx(tmp_path, None, -9))  # type: ignore[arg-type]
    assert outcome.status == "error"
    assert outcome.reason is not None and "MemoryError: boom" in outcome.reason
    assert outcome.figures == {}


def test_a_failed_task_keeps_the_series_and_names_the_task(tmp_path: Path) -> None:
    import json

    from harness.run.recipes.soak import run_soak

    report = report_of(series(0.0, n=6))
    report["error"] = {"task": 7, "model": "m0", "type": "CosmosDbtRunError",
                       "message": "dbt invocation completed with errors: m0: boom"}
    outcome = run_soak(_fake_ctx(tmp_path, json.dumps(report), 1))  # type: ignore[arg-type]
    assert outcome.status == "error"
    assert outcome.reason is not None
    assert "task 7" in outcome.reason and "m0: boom" in outcome.reason
    assert outcome.figures["tasks"] == 6 and len(outcome.figures["rss_mib"]) == 7
