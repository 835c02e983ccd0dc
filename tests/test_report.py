"""harness report: the memory guide's verdicts, recommendations, Cosmos's cost over dbt,
and the report itself, rendered from a recorded run and opened in headless Chromium.

The verdict logic is tested on constructed measurements shaped exactly as the runner
records them (ids and axes from harness.scenarios); the rendering on a recorded run.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import (
    CHROMIUM,
    DEBUG_PUSHED,
    DEFERRED,
    PP_OFF,
    PP_USED,
    RECORDED,
    chromium,
    noisy,
    records,
    rows_by_key,
    scenarios_of,
)

from harness import guide
from harness.cli import main
from harness.compare.format import GIB, MIB
from harness.report import write_report
from harness.report.plots import pareto_front
from harness.report.sections_run import speed_text
from harness.store.jsonl import ResultsWriter, read_records
from harness.store.runinfo import RunInfo, write_run_info
from harness.verdicts.recommend import cosmos_cost, recommend

# ---------------------------------------------------------------- constructed runs


def test_every_guide_option_has_a_row_even_unmeasured() -> None:
    rows = guide.evaluate(scenarios_of(records("import", None, 130, 3.0)))
    assert [r.option.number for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    # the imports' setting is used nowhere in the installed Cosmos: that needs no pair
    assert {r.option.key: r.verdict for r in rows}["memory_optimised_imports"] == guide.NO_EFFECT
    assert {r.verdict for r in rows[1:]} == {guide.NOT_MEASURED}


def test_guide_verdicts() -> None:
    ls = {"load_mode": "DBT_LS", "cache": "cold"}
    rows = rows_by_key(
        # 1: no difference -> not seen
        records("import", None, 130, 3.0, memory_optimised_imports=False),
        records("import", None, 131, 3.0, memory_optimised_imports=True),
        # 2: manifest far lighter than a dbt ls cache miss; the warm cache is not its twin
        records("dag_parse", 10, 140, 3.3, load_mode="DBT_MANIFEST"),
        records("dag_parse", 10, 225, 5.7, **ls),
        records("dag_parse", 10, 276, 6.0, **ls, render_invocation="SUBPROCESS"),
        records("dag_parse", 10, 139, 3.3, load_mode="DBT_LS", cache="warm"),
        # 3: dbtRunner lighter in the task; 4: partial parse heavier (the opposite);
        # 7: debug mode costs nothing
        records("task", 10, 350, 11, load_mode="DBT_MANIFEST", evidence=PP_USED),
        records("task", 10, 520, 14, load_mode="DBT_MANIFEST", execution_invocation="SUBPROCESS"),
        records("task", 10, 300, 11, load_mode="DBT_MANIFEST", partial_parse=False,
                evidence=PP_OFF),
        records("task", 10, 351, 11.1, load_mode="DBT_MANIFEST", debug_mode=True,
                evidence=DEBUG_PUSHED),
        # 5: one repetition each: nothing can be said
        records("dag_run", 10, 900, 60, reps=1, slots=200, load_mode="DBT_MANIFEST"),
        records("dag_run", 10, 500, 40, reps=1, slots=50, load_mode="DBT_MANIFEST",
                execution_mode="WATCHER", evidence=DEFERRED),
    )
    imports = rows["memory_optimised_imports"]
    assert imports.verdict == guide.NO_EFFECT
    assert imports.reason and "cosmos/settings.py:" in imports.reason
    manifest = rows["dbt_manifest"]
    assert manifest.verdict == guide.CONFIRMED
    assert len(manifest.pairs) == 2  # both render invocations of DBT_LS cold, not warm
    assert all("cache=cold" in p.without_id for p in manifest.pairs)
    cell = manifest.over_pairs[10]["memory"]
    assert cell is not None and cell.n_pairs == 2 and 0.45 < cell.ratio < 0.65
    assert rows["dbt_runner"].verdict == guide.CONFIRMED
    assert rows["partial_parse"].verdict == guide.OPPOSITE
    assert rows["debug_mode"].verdict == guide.CONFIRMED
    assert rows["watcher"].verdict == guide.UNTESTED
    assert rows["watcher"].pairs[0].changes["slots"].ratio == pytest.approx(0.25, rel=0.05)
    assert rows["concurrency"].verdict == guide.NOT_MEASURED


def test_an_option_with_no_effect_is_judged_not_seen_in_95_percent_of_runs() -> None:
    """Partial parse with no effect at all, six task pairs (three sizes, two invocations,
    three repetitions a side, 10% noise): each pair alone passes p<0.05 one time in
    twenty, so "any pair" would call one run in four "confirmed" or "the opposite";
    the row's adjusted verdict must stay near the 5% it states."""
    rng = random.Random(7)
    runs, wrong, raw = 300, 0, 0
    for run in range(runs):
        groups = []
        for models in (10, 100, 1000):
            for inv in ("DBT_RUNNER", "SUBPROCESS"):
                kw = {"load_mode": "DBT_MANIFEST", "execution_invocation": inv}
                groups.append(noisy(records("task", models, 300, 20, reps=3, seed=run,
                                             evidence=PP_USED, **kw), rng, 0.1))
                groups.append(noisy(records("task", models, 300, 20, reps=3, seed=run,
                                             partial_parse=False, evidence=PP_OFF,
                                             **kw), rng, 0.1))
        row = rows_by_key(*groups)["partial_parse"]
        assert len(row.pairs) == 6
        wrong += row.verdict != guide.NOT_SEEN
        changes = [p.changes["memory"] for p in row.pairs]
        raw += any(c.p_value is not None and c.p_value < 0.05
                   and abs(c.ratio - 1) > guide.MIN_EFFECT for c in changes)  # fmt: skip
    assert wrong / runs < 0.08, wrong
    assert raw / runs > 0.15, raw  # what the unadjusted rule would have said


def test_concurrency_pairs_lowest_with_each_higher_value_and_mixed_sizes() -> None:
    kw = {"load_mode": "DBT_MANIFEST"}
    rows = rows_by_key(
        records("dag_run", 10, 600, 60, concurrency=1, **kw),
        records("dag_run", 10, 900, 30, concurrency=4, **kw),
        records("dag_run", 10, 1200, 20, concurrency=8, **kw),
        records("dag_run", 100, 1200, 60, concurrency=1, **kw),
        records("dag_run", 100, 800, 30, concurrency=4, **kw),
    )
    row = rows["concurrency"]
    assert sorted((p.with_value, p.without_value, p.size) for p in row.pairs) == [
        (1, 4, 10),
        (1, 4, 100),
        (1, 8, 10),
    ]
    outcomes = {(p.size, p.without_value): p.outcome("memory") for p in row.pairs}
    assert outcomes == {(10, 4): guide.IMPROVED, (10, 8): guide.IMPROVED,
                        (100, 4): guide.WORSENED}  # fmt: skip
    # not a direction: the cost of each extra slot, fitted over every repetition
    assert row.verdict == guide.PER_SLOT
    assert row.size_verdicts == {10: guide.PER_SLOT, 100: guide.PER_SLOT}
    ten, hundred = row.slot_costs
    assert (ten.size, ten.values, hundred.size, hundred.values) == (10, (1, 4, 8), 100, (1, 4))
    assert ten.memory and ten.memory.slope == pytest.approx(85.1, rel=0.03)
    assert ten.memory.ci_low and ten.memory.ci_low > 70
    assert ten.time and ten.time.slope < -4  # seconds saved per extra slot
    assert hundred.memory and hundred.memory.slope == pytest.approx(-133, rel=0.03)


def test_debug_mode_overhead_is_the_opposite_of_the_claim() -> None:
    kw = {"load_mode": "DBT_MANIFEST"}
    rows = rows_by_key(
        records("task", 10, 350, 11, **kw),
        records("task", 10, 352, 16, debug_mode=True, evidence=DEBUG_PUSHED, **kw),
    )
    assert rows["debug_mode"].verdict == guide.OPPOSITE


def test_pareto_front() -> None:
    pts = [(10.0, 500.0), (5.0, 900.0), (12.0, 450.0), (11.0, 800.0), (5.0, 950.0)]
    assert pareto_front(pts) == [1, 0, 2]


def test_recommendations_per_size_and_worker() -> None:
    kw = {"load_mode": "DBT_MANIFEST"}
    scen = scenarios_of(
        records("dag_run", 10, 800, 30, concurrency=1, **kw),
        records("dag_run", 10, 1500, 10, concurrency=2, **kw),
        records("dag_run", 10, 3000, 5, concurrency=4, **kw),
        records("dag_run", 10, 600, 2, concurrency=8, status="oom", **kw),  # never picked
    )
    (rec,) = recommend(scen, "dag_run")
    assert rec.size == 10 and rec.candidates == 3
    assert rec.lowest_memory.label == "concurrency=1"
    assert rec.fastest.label == "concurrency=4"
    assert [rec.fits[g].label if rec.fits[g] else None for g in (1, 2, 4)] == [
        "concurrency=1",
        "concurrency=2",
        "concurrency=4",
    ]
    assert all(c.max_memory <= 4 * GIB for c in rec.fits.values() if c)


def test_measured_smallest_worker_decides_what_fits() -> None:
    """A peak counts page cache; the min_worker bisection is the measured need. A run
    that peaked at 1100 MiB but ran in a 900 MiB worker fits 1 GiB; one with no
    bisection is judged by its peak."""
    kw = {"load_mode": "DBT_MANIFEST"}
    bisection = [
        dataclasses.replace(r, figures={"min_limit_mib": 900.0, "converged": True})
        for r in records("min_worker", 10, 1100, 20, reps=1, concurrency=2, **kw)
    ]
    runs = (
        records("dag_run", 10, 1500, 30, concurrency=1, **kw),
        records("dag_run", 10, 1100, 20, concurrency=2, **kw),
    )
    (without,) = recommend(scenarios_of(*runs), "dag_run")
    assert without.fits[1] is None
    (rec,) = recommend(scenarios_of(*runs, bisection), "dag_run")
    fit = rec.fits[1]
    assert fit is not None and fit.label == "concurrency=2"
    assert fit.smallest_worker == 900 * MIB and fit.need == 900 * MIB
    assert rec.fits[2] is not None and rec.fits[2].label == "concurrency=2"  # still the fastest


def test_cosmos_cost_over_dbt_build() -> None:
    kw = {"load_mode": "DBT_MANIFEST", "concurrency": 2}
    scen = scenarios_of(
        records("dbt_baseline", 10, 200, 10, concurrency=2),
        records("dbt_baseline", 10, 150, 20, concurrency=1),
        records("dag_run", 10, 800, 40, **kw),
        records("dag_run", 10, 600, 30, execution_mode="WATCHER", **kw),
    )
    costs = {c.execution_mode: c for c in cosmos_cost(scen)}
    assert costs["LOCAL"].dbt_threads == 2  # the baseline with the same concurrency
    assert costs["LOCAL"].time_ratios[0] == pytest.approx(4.0, rel=0.05)
    assert costs["WATCHER"].memory_ratios[0] == pytest.approx(3.0, rel=0.05)


# ---------------------------------------------------------------- the recorded run
@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A copy of the recorded run (the report is written into the run folder)."""
    if not (RECORDED / "results.jsonl").is_file():
        pytest.fail(f"the recorded results file is missing: {RECORDED}/results.jsonl")
    dest = tmp_path / RECORDED.name
    shutil.copytree(RECORDED, dest)
    return dest


def test_recorded_run_is_real() -> None:
    recs = list(read_records(RECORDED / "results.jsonl"))
    info = json.loads((RECORDED / "run.json").read_text())
    assert info["versions"]["astronomer-cosmos"].startswith("1.15")
    assert {r.phase for r in recs} >= {"import", "dag_parse", "task", "dag_run", "dbt_baseline"}
    assert any(r.status == "ok" and r.measure and r.measure.backend for r in recs)


class _GuideTable(HTMLParser):
    """Rows of <table id="guide">: the option titles (second cell) and verdicts."""

    def __init__(self) -> None:
        super().__init__()
        self.in_table = False
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id") == "guide":
            self.in_table = True
        elif self.in_table and tag == "tr" and a.get("class") == "option":
            self.row = []
        elif self.row is not None and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.row is not None and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "table" and self.in_table:
            self.in_table = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def guide_rows(html: str) -> list[list[str]]:
    parser = _GuideTable()
    parser.feed(html)
    return parser.rows


def test_report_of_the_recorded_run(recorded: Path) -> None:
    md, html = write_report(recorded)
    assert (md, html) == (recorded / "report.md", recorded / "report.html")
    text = md.read_text()
    for option in guide.OPTIONS:
        assert re.search(rf"^\| {option.number} \| {re.escape(option.title)} \|", text, re.M)
    for section in (
        "## Recommendations",
        "## Cosmos's cost over plain `dbt build`",
        "## Failures",
        "## Environment",
        "## Figures",
    ):
        assert section in text
    assert "astronomer-cosmos" in text
    page = html.read_text()
    rows = guide_rows(page)
    assert [r[1] for r in rows] == [o.title for o in guide.OPTIONS]
    # self-contained: no reference to anything outside the file
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "data:image/png;base64," in page
    for figure in re.findall(r"\]\((report_files/[^)]+)\)", text):
        assert (recorded / figure).is_file()


def test_the_environment_says_the_machine_speed_of_each_part() -> None:
    assert "not recorded" in speed_text(RunInfo())
    info = RunInfo()
    info.add_cpu_reference(0.100)
    assert speed_text(info) == "a fixed Python loop took 0.100 s of CPU at the start"
    info.add_cpu_reference(0.160)
    assert speed_text(info).endswith(
        ", 0.160 s at the resumes (different speeds: the run's times mix them)"
    )


def test_report_command_prints_both_paths(recorded: Path, capsys: Any) -> None:
    assert main(["report", str(recorded), "--baseline", str(recorded)]) == 0
    out = capsys.readouterr().out.split()
    assert out == [str(recorded / "report.md"), str(recorded / "report.html")]
    assert "Against the baseline" in (recorded / "report.md").read_text()
    assert main(["report", str(recorded.parent / "missing")]) == 2


# ---------------------------------------------------------------- headless Chromium


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"
)
def test_report_opens_in_headless_chromium(recorded: Path, tmp_path: Path) -> None:
    _, html = write_report(recorded)
    # The check can fail: a page with a script error and a network image is caught
    # (the report's Content-Security-Policy makes the browser log any outside asset).
    csp = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>', html.read_text())
    assert csp
    bad = tmp_path / "bad.html"
    bad.write_text(
        f"<!DOCTYPE html><html><head>{csp[0]}</head><body>"
        '<img src="https://example.invalid/x.png"><script>nope()</script></body></html>'
    )
    _, console = chromium(bad, tmp_path / "profile-bad")
    assert any("example.invalid" in c for c in console), console

    dom, console = chromium(html, tmp_path / "profile")
    assert console == []
    rows = guide_rows(dom)
    assert [r[1] for r in rows] == [o.title for o in guide.OPTIONS]
    # the verdict first, then where it holds and what qualifies it
    assert all(r[-1].startswith(guide.VERDICTS) for r in rows), [r[-1] for r in rows]


def test_write_report_writes_into_the_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "run-x"
    with ResultsWriter(run / "results.jsonl") as w:
        for r in records("import", None, 130, 3.0) + records("dag_parse", 10, 140, 3.3):
            w.append(r)
    write_run_info(run, {"run_id": "run-x"})
    md, html = write_report(run)
    assert md.parent == html.parent == run
    assert "not measured" in md.read_text()


BENCH = Path(__file__).parents[1] / "results" / "baselines" / "bench-20261124"


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"
)
def test_first_screen_answers_what_settings_and_how_big_a_worker(tmp_path: Path) -> None:
    """The bench baseline's report, in headless Chromium: above the fold, the answer table
    gives per size the settings and the peaks; the pair table is a closed appendix."""
    run = tmp_path / BENCH.name
    shutil.copytree(BENCH, run, ignore=shutil.ignore_patterns("report*"))
    _, html = write_report(run)
    dom, console = chromium(html, tmp_path / "profile")
    assert console == []
    first = dom.index("<section")
    assert dom.index('id="answer"') < dom.index('id="guide"')
    assert dom.find("<h2", first) == dom.index("The answer: settings and sizes") - len("<h2>")
    answer = dom[dom.index('id="answer"') : dom.index("</table>", dom.index('id="answer"'))]
    for size in ("10 models", "100 models", "1000 models"):
        assert f"<td>{size}</td>" in answer
    # One configuration per size: dag_run at 10 models only, so the others say so
    assert answer.count("whole DAG run: not measured") == 2
    assert answer.count("<td>LocalExecutor</td>") == 3
    assert re.search(r"up to \d+ MiB over \d+ configurations", answer)
    pairs = dom.index('id="guide-pairs-section"')
    assert dom.rfind("<details", 0, pairs) == pairs - len("<details ")
    assert "open" not in dom[pairs - 20 : pairs + 40]

    shot = tmp_path / "first-screen.png"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile-shot'}",
            "--window-size=1400,900",
            f"--screenshot={shot}",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_measurements_on_a_busy_machine_are_named() -> None:
    from harness.measure.machine_load import MachineLoad
    from harness.report.summary import busy_notes

    def load(busy: bool) -> MachineLoad:
        return MachineLoad(1.0, 1.0, 2.0, 2, 1.6 if busy else 0.1, 0.8 if busy else 0.05, 0.0, busy)

    quiet = records("dag_parse", 10, 130, 3.0, reps=3, load_mode="DBT_MANIFEST")
    noisy = records("dag_parse", 10, 150, 3.0, reps=2, load_mode="DBT_LS")
    quiet = [
        dataclasses.replace(r, measure=dataclasses.replace(r.measure, load=load(False)))
        for r in quiet
    ]  # type: ignore[type-var]
    noisy = [
        dataclasses.replace(r, measure=dataclasses.replace(r.measure, load=load(i == 0)))  # type: ignore[type-var]
        for i, r in enumerate(noisy)
    ]
    (note,) = busy_notes(scenarios_of(quiet, noisy))
    assert note.startswith("1 of 5 measurements ran on a busy machine")
    assert noisy[0].scenario_id in note and quiet[0].scenario_id not in note
    (note,) = busy_notes(scenarios_of(quiet))
    assert note == "All 3 measurements ran on a quiet machine (harness.measure.machine_load)."
    (note,) = busy_notes(scenarios_of(records("dag_parse", 10, 130, 3.0)))
    assert "not recorded" in note
