"""The guide's verdicts say what the figures say (issue 28): simulated pairs, no stack.

An effect under the floor is not "confirmed"; an equivalence claim on noise with a wide
interval is "cannot tell"; a failed side decides a pair; a row whose sizes disagree is
"mixed", with where; an option whose setting the installed Cosmos never uses has "no
effect in this version", from a search of the package's source.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from report_fixtures import DEBUG_PUSHED, PP_OFF, PP_USED, noisy, records, rows_by_key

from harness import guide
from harness.cli import main
from harness.compare.stats import equivalence
from harness.guide.evidence import setting_uses
from harness.report.sections_guide import guide_section, pairs_section
from harness.store.jsonl import ResultsWriter
from harness.store.runinfo import write_run_info

MANIFEST = {"load_mode": "DBT_MANIFEST"}
LS_COLD = {"load_mode": "DBT_LS", "cache": "cold"}


def _partial_parse(on_mib: float, reps: int = 10) -> guide.GuideRow:
    return rows_by_key(
        records("task", 10, on_mib, 11, reps=reps, evidence=PP_USED, **MANIFEST),
        records("task", 10, 300, 11, reps=reps, partial_parse=False, evidence=PP_OFF, **MANIFEST),
    )["partial_parse"]


def test_a_significant_effect_under_the_floor_is_not_confirmed() -> None:
    under = _partial_parse(291)  # -3%, ten repetitions of 1% noise: significant
    (pair,) = under.pairs
    assert pair.changes["memory"].significant and pair.changes["memory"].ratio > 0.95
    assert under.verdict == guide.NOT_SEEN
    assert any("under the floor" in n for n in under.notes)
    assert _partial_parse(270).verdict == guide.CONFIRMED  # -10%: beyond it


def test_an_equivalence_test_on_noise_with_a_wide_interval_cannot_tell() -> None:
    rng = random.Random(3)
    seen = []
    for run in range(40):
        rows = rows_by_key(
            noisy(records("task", 10, 300, 11, reps=2, seed=run, **MANIFEST), rng, 0.08),
            noisy(records("task", 10, 300, 11, reps=2, seed=run, debug_mode=True,
                           evidence=DEBUG_PUSHED, **MANIFEST), rng, 0.08),
        )  # fmt: skip
        seen.append(rows["debug_mode"].verdict)
    # no effect at all, but two runs a side of 8% noise cannot show one under 5%
    assert guide.CONFIRMED not in seen
    assert seen.count(guide.CANNOT_TELL) >= 36, seen
    # quiet and many: equivalence shown, the claim confirmed
    quiet = rows_by_key(
        records("task", 10, 300, 11, **MANIFEST),
        records("task", 10, 301, 11, debug_mode=True, evidence=DEBUG_PUSHED, **MANIFEST),
    )["debug_mode"]
    assert quiet.verdict == guide.CONFIRMED
    assert quiet.pairs[0].equivalence["memory"].equivalent


def test_tost_keeps_its_level_at_the_margin() -> None:
    """A true change of exactly the margin is called equivalent at most ~5% of the time;
    one repetition a side is untested."""
    rng = random.Random(11)
    shown = 0
    for _ in range(400):
        base = [math.exp(rng.gauss(0, 0.03)) for _ in range(5)]
        new = [1.05 * math.exp(rng.gauss(0, 0.03)) for _ in range(5)]
        shown += bool(equivalence(base, new, 0.05).equivalent)
    assert shown / 400 < 0.07, shown
    assert equivalence([1.0], [1.0], 0.05).equivalent is None


def _parse(models: int, status: str, margin: float, **axes: object) -> list:
    figures = {"limits": {"dagbag_import_timeout": 30.0},
               "timeout_margin": {"dagbag_import_timeout": margin}}  # fmt: skip
    return records("dag_parse", models, 250, 30 - margin, reps=2, status=status,
                   evidence=figures, **axes)  # fmt: skip


def test_a_failed_side_decides_the_pair() -> None:
    rows = rows_by_key(
        _parse(1000, "ok", 26.5, **MANIFEST),
        _parse(1000, "error", -0.5, **LS_COLD),
        # at 5000 models both time out: shown, decides nothing
        _parse(5000, "error", -0.1, **MANIFEST),
        _parse(5000, "error", -0.6, **LS_COLD),
    )
    row = rows["dbt_manifest"]
    by_size = {p.size: p for p in row.pairs}
    decided = by_size[1000]
    assert decided.failure == guide.AVOIDS and decided.outcome("memory") == guide.AVOIDS
    assert decided.margin and "26.5 s under dagbag_import_timeout (30 s)" in decided.margin
    assert by_size[5000].failure == guide.BOTH_FAILED
    assert row.size_verdicts == {1000: guide.AVOIDS, 5000: guide.BOTH_FAILED}
    assert row.verdict == guide.AVOIDS
    table = guide_section(list(rows.values())).tables[0]
    manifest_row = table.rows[1]
    assert any("avoids a failure" in c.text and "26.5 s under" in c.text for c in manifest_row)
    appendix = pairs_section(list(rows.values()))
    assert appendix and any(
        "avoids a failure" in r[-1].text and "boom" in r[-1].text for r in appendix.tables[0].rows
    )
    # the option's side failing is the opposite
    worse = rows_by_key(
        _parse(1000, "error", -0.5, **MANIFEST), _parse(1000, "ok", 12.0, **LS_COLD)
    )["dbt_manifest"]
    assert worse.pairs[0].failure == guide.FAILS and worse.verdict == guide.OPPOSITE


def test_a_row_whose_sizes_disagree_is_mixed_with_where() -> None:
    sub = {"execution_invocation": "SUBPROCESS", **MANIFEST}
    row = rows_by_key(
        records("task", 10, 300, 11, **MANIFEST),
        records("task", 10, 301, 11, **sub),
        records("task", 100, 400, 11, **MANIFEST),
        records("task", 100, 520, 11, **sub),
    )["dbt_runner"]
    assert row.size_verdicts == {10: guide.NOT_SEEN, 100: guide.CONFIRMED}
    assert row.verdict == guide.MIXED
    assert "confirmed at 100 models (task)" in row.where
    assert "not seen at 10 models (task)" in row.where


def test_no_effect_in_this_version_is_a_search_of_the_installed_source(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "settings.py").write_text('my_flag = conf.getboolean("x", "my_flag", fallback=False)\n')
    (pkg / "dag.py").write_text("import os\n")
    unused = setting_uses("my_flag", root=pkg)
    assert unused and unused.unused and unused.defined == ("cosmos/settings.py:1",)
    (pkg / "lazy.py").write_text("from pkg import settings\nif settings.my_flag:\n    pass\n")
    used = setting_uses("my_flag", package="pkg2", root=pkg)  # another key: not cached
    assert used and not used.unused and used.used == ("pkg2/lazy.py:2",)
    # the installed Cosmos 1.15: read in settings.py, used nowhere else
    cosmos = setting_uses("enable_memory_optimised_imports")
    assert cosmos is not None and cosmos.unused, cosmos
    rows = rows_by_key(records("import", None, 130, 3.0))
    assert rows["memory_optimised_imports"].verdict == guide.NO_EFFECT
    # another Cosmos measured than the one installed: the search says nothing of it
    other = {r.option.key: r for r in guide.evaluate({}, cosmos_version="1.13.1")}
    imports = other["memory_optimised_imports"]
    assert imports.verdict == guide.NOT_MEASURED
    assert any("1.13.1" in n for n in imports.notes)


def test_report_json_holds_the_guide_rows(tmp_path: Path, capsys: Any) -> None:
    run = tmp_path / "run-j"
    with ResultsWriter(run / "results.jsonl") as w:
        for r in _parse(1000, "ok", 26.5, **MANIFEST) + _parse(1000, "error", -0.5, **LS_COLD):
            w.append(r)
    write_run_info(run, {"run_id": "run-j"})
    assert main(["report", str(run), "--json"]) == 0
    assert capsys.readouterr().out.split()[-1] == str(run / "report.json")
    data = json.loads((run / "report.json").read_text())
    (manifest,) = [r for r in data["guide"] if r["option"] == "dbt_manifest"]
    assert manifest["verdict"] == guide.AVOIDS
    assert manifest["sizes"][0]["label"] == "1000 models"
    (pair,) = manifest["pairs"]
    assert pair["repetitions"] == {"with": 2, "without": 2} and pair["failure"] == guide.AVOIDS
    assert "26.5 s under" in pair["margin"]
