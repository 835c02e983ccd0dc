"""The guide's short table (harness.report.guide_summary): on records built in code its
cells say what the pairs say, and the README's block is the newest committed bench run's
table (`python tests/test_report_guide_summary.py` rewrites it)."""

from __future__ import annotations

from pathlib import Path

from readme_block import current, markers, rewrite
from report_fixtures import records, rows_by_key

from harness import guide
from harness.compare.runs import load_run, newest_dated
from harness.compare.samples import group_scenarios
from harness.report.guide_summary import guide_summary
from harness.size.table import machine_line

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ROOT / "results" / "baselines"
BEGIN, END = markers("guide")


def test_a_cell_gives_the_size_verdict_and_the_claimed_change() -> None:
    cold = {"load_mode": "DBT_LS", "cache": "cold"}
    recs = records("dag_parse", 1000, 200, 20, reps=3, load_mode="DBT_MANIFEST")
    recs += records("dag_parse", 1000, 400, 30, reps=3, **cold)
    rows = list(rows_by_key(recs).values())
    table = guide_summary(rows)
    line = next(x for x in table.splitlines() if "DBT_MANIFEST load mode" in x)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:] == ["confirmed", cells[3], "not measured"]
    # Known truth: 200 against 400 MiB, within the fixture's 2% jitter a repetition.
    verdict, change = cells[3].split(": memory ")
    assert verdict == "confirmed" and -53 <= int(change.rstrip("%")) <= -47
    imports = next(x for x in table.splitlines() if "memory-optimised imports" in x)
    # the installed Cosmos never uses the flag (its source searched): no size applies
    assert "| no effect in this version (cosmos " in imports and "used nowhere" in imports
    assert imports.endswith("| - | - |")


def test_a_concurrency_cell_is_its_cost_per_slot() -> None:
    recs = []
    for k, mib in ((1, 400), (2, 600), (4, 1000)):  # 200 MiB a slot
        recs += records("dag_run", 1000, mib, 60, reps=2, concurrency=k, run_nodes=2)
    (row,) = [r for r in guide.evaluate(group_scenarios(recs)) if r.option.key == "concurrency"]
    line = next(x for x in guide_summary([row]).splitlines() if "concurrency" in x)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2] == "cost per slot" and cells[4] == "not measured"
    mib, seconds = cells[3].removesuffix(" per extra slot").split(", ")
    # Known truth: 200 MiB a slot and no time, within the fixture's 2% jitter.
    assert 190 <= int(mib.removesuffix(" MiB")) <= 210
    assert abs(float(seconds.removesuffix(" s"))) <= 2.0


def newest_bench() -> str:
    """The newest committed bench run (run ids are dated: bench-YYYYMMDD[b])."""
    return newest_dated("bench-", BASELINES).name


def guide_block() -> str:
    """The README's guide section as the newest committed bench run gives it today."""
    run = load_run(newest_bench(), BASELINES)
    rows = guide.evaluate(group_scenarios(run.records))
    report = f"results/baselines/{run.run_id}/report.md"
    return "\n".join([
        BEGIN,
        f"What the options of Cosmos's memory guide do at the sizes users run, as the newest "
        f"committed bench run, `{run.run_id}`, judged them ({machine_line(run.info)}). "
        "A verdict counts a failure (an import timeout, an OOM kill) as an outcome; "
        "\"confirmed\" needs a significant change beyond 5%; \"cannot tell\": an interval "
        "wider than the ±5% a claim of no overhead allows. Every size (10 and 100 models "
        "too), each change's interval and the pairs behind it: "
        f"[its report]({report}#the-memory-guide-measured); which configurations near "
        f"Airflow's import timeouts: [its parse-limit section]"
        f"({report}#parse-time-against-airflows-limits).",
        "",
        guide_summary(rows),
        END,
    ])  # fmt: skip


def test_the_readme_guide_table_is_the_newest_benchs() -> None:
    assert current("guide") == guide_block(), (
        "run `python tests/test_report_guide_summary.py` to rewrite it"
    )


if __name__ == "__main__":
    rewrite("guide", guide_block())
