"""`harness history` renders a page from committed baselines plus two synthetic nights
(the bench baseline again under other commits, the second with dag_parse's peak memory
20% higher and another Cosmos), finds that step at the right night, and the page opens in
headless Chromium without a console message (its CSP refuses anything from outside)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.history.page import key_scenarios, load_nights
from harness.store.jsonl import ResultsWriter, read_records
from harness.store.runinfo import Commit, read_run_info, write_run_info

ROOT = Path(__file__).resolve().parents[1]
BASELINES = sorted(p for p in (ROOT / "results" / "baselines").iterdir()
                   if (p / "results.jsonl").is_file())
HISTORY = [ROOT / "results" / "baselines" / name for name in (
    "bench-20261124", "bench-20261201", "bench-20261201b", "bench-20261202", "bench-20261202b",
    "workers-20261202")]
"""A fixed history: the benches and one run of other scenarios. Fixed, because the key
scenarios' rule counts nights, and each new committed run would move what it picks."""
BENCH = ROOT / "results" / "baselines" / "bench-20261202"
"""The newest bench: the synthetic nights follow it, so its own steps are behind them."""
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def synthetic_night(dest: Path, day: str, commit: str, parse_factor: float,
                    cosmos: str) -> Path:
    """The bench baseline as another night: its date, commit and Cosmos version changed,
    dag_parse's peak memory multiplied by ``parse_factor``."""
    with ResultsWriter(dest / "results.jsonl") as w:
        for r in read_records(BENCH / "results.jsonl"):
            if r.measure is not None and r.phase == "dag_parse":
                peak = int(r.measure.peak_tree_bytes * parse_factor)
                r = dataclasses.replace(r, measure=dataclasses.replace(r.measure,
                                                                       peak_tree_bytes=peak))
            w.append(dataclasses.replace(r, run_id=dest.name))
    info = read_run_info(BENCH)
    assert info is not None
    info = dataclasses.replace(info, run_id=dest.name, started_at=f"{day}T02:17:00+00:00",
                               commit=Commit(id=commit * 5, branch="main", dirty=False),
                               versions={**info.versions, "astronomer-cosmos": cosmos})
    write_run_info(dest, info)
    return dest


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("nights")
    return [*HISTORY,
            synthetic_night(tmp / "nightly-1", "2026-12-03", "aaaaaaaa", 1.0, "1.15.1"),
            synthetic_night(tmp / "nightly-2", "2026-12-04", "bbbbbbbb", 1.2, "1.15.2")]


def test_key_scenarios_follow_the_stated_rule(nights: list[Path]) -> None:
    loaded = load_nights(nights)
    assert len(loaded) == len(HISTORY) + 2
    ids, rule = key_scenarios(loaded, ["dag_parse"], limit=5)
    # bench's dag_parse scenarios are in the 5 benches and the 2 synthetic nights, 7 of 8;
    # the workers run's are in 1 of 8: left out
    need = (len(loaded) + 1) // 2
    assert f"at least {need} of the {len(loaded)} nights" in rule and "'dag_parse'" in rule
    assert len(ids) == 5 and all("dag_parse" in i for i in ids)
    bench_ids = {r.scenario_id for r in read_records(BENCH / "results.jsonl")}
    assert set(ids) <= bench_ids


def test_every_committed_baseline_loads_as_a_night() -> None:
    assert len(load_nights(BASELINES)) == len(BASELINES) >= len(HISTORY)


def test_history_page_marks_the_step_and_opens_in_chromium(
    nights: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "page"
    assert main(["history", *map(str, nights), "--out", str(out),
                 "--scenario", "dag_parse/layered-100", "--limit", "4"]) == 0
    page = out / "index.html"
    html = page.read_text()
    assert re.search(r'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'',
                     html)
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    assert html.count("data:image/png;base64,") == 4
    # the 20% step of dag_parse's memory is marked at the last night, commit bbbbbbbb
    steps = re.findall(r'<tr class="bad"><td><code>(.*?)</code></td><td>peak memory \(MiB\)'
                       r'</td><td>(\d+)</td><td><code>(\w+)</code>.*?<td>\+([\d.]+)%</td>', html)
    assert len(steps) == 4, steps
    for _, night, commit, pct in steps:
        assert int(night) == len(nights) and commit == "bbbbbbbb"
        assert 15 < float(pct) < 25
    # the synthetic nights did not change the times: no step marked at them (a real one,
    # between the committed benches, may be)
    moved = re.findall(r'<td>wall time \(s\)</td><td>(\d+)</td>', html)
    assert not {int(n) for n in moved} & {len(nights) - 1, len(nights)}, moved
    assert '<span class="changed">astronomer-cosmos 1.15.2</span>' in html
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--hide-scrollbars", "--window-size=1400,2400",
         f"--screenshot={tmp_path / 'history.png'}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if ":CONSOLE" in line] == []
    shot = tmp_path / "history.png"
    assert shot.stat().st_size > 50_000  # plots drawn, not a blank page


def test_history_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main(["history", str(BENCH), "--out", str(tmp_path / "o"), "--limit", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("harness history: error:") for line in err)
