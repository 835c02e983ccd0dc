"""The dbt-log reader on lines recorded from real dbt 1.11 runs (tests/data/dbtlog/)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.registry.figures import DbtEvidence, TaskFigures
from harness.stack.dbtlog import LogCursor, evidence, read_invocations

DATA = Path(__file__).parent / "data" / "dbtlog"


def _read(name: str):
    return read_invocations((DATA / name).read_text())


def test_manifest_not_found_then_used() -> None:
    first, second = _read("parse_not_found_then_used.log")
    assert first.partial_parse_used is False
    assert first.reason == "saved manifest not found"
    # Registered adapter 14:31:20.469759 -> Wrote artifact WritableManifest 14:31:38.336545
    assert first.parse_s == 17.867
    assert first.command == "dbt parse"
    assert second.partial_parse_used is True
    assert second.files == {"deleted": 0, "added": 0, "changed": 0}
    assert second.reparsed == []
    assert second.parse_s == 3.787  # 14:32:07.728937 -> 14:32:11.515927


def test_run_and_ls_use_partial_parse() -> None:
    run, ls = _read("run_and_ls_used.log")
    assert (run.partial_parse_used, ls.partial_parse_used) == (True, True)
    assert run.command == "dbt run"
    assert ls.command == "dbt ls"
    assert run.parse_s == 5.626  # 14:33:23.325255 -> 14:33:28.951520


def test_changed_profile_changed_and_disabled() -> None:
    changed, profile, disabled = _read("changed_profile_disabled.log")
    assert changed.partial_parse_used is True
    assert changed.files == {"deleted": 0, "added": 0, "changed": 1}
    assert changed.reparsed == [
        "synthetic_layered_10://models/intermediate/group_000/int_00003.sql"
    ]
    assert profile.partial_parse_used is False and profile.reason == "profile has changed"
    assert disabled.partial_parse_used is False
    assert disabled.reason == "partial parsing not enabled"


def test_evidence_summarises_invocations() -> None:
    ev = evidence(_read("changed_profile_disabled.log"))
    assert ev is not None
    assert ev["partial_parse_used"] is None  # mixed: one used, two refused
    assert ev["partial_parse_runs"] == [1, 3]
    assert ev["reason"] == "partial parsing not enabled; profile has changed"
    assert len(ev["commands"]) == 3
    assert evidence([]) is None
    all_used = evidence(_read("run_and_ls_used.log"))
    assert all_used is not None and all_used["partial_parse_used"] is True


def test_evidence_round_trips_through_figures() -> None:
    ev = evidence(_read("parse_not_found_then_used.log"))
    figures = TaskFigures.from_dict({"dbt": ev}, strict=True)
    assert isinstance(figures.dbt, DbtEvidence)
    assert figures.dbt.partial_parse_runs == [1, 2]
    again = TaskFigures.from_dict(figures.to_dict())
    assert again.dbt == figures.dbt


def test_cursor_reads_only_what_came_after(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "dbt.log"
    log.parent.mkdir()
    log.write_text((DATA / "parse_not_found_then_used.log").read_text())
    cursor = LogCursor(tmp_path)
    assert cursor.evidence() is None
    with log.open("a") as fh:
        fh.write((DATA / "run_and_ls_used.log").read_text())
    ev = cursor.evidence()
    assert ev is not None and ev["partial_parse_runs"] == [2, 2]


def test_json_log_of_the_watcher_producer() -> None:
    """Cosmos's WATCHER producer runs `dbt build --log-format json`."""
    (build,) = _read("watcher_producer_json.log")
    assert build.command == "cli build"
    assert build.partial_parse_used is False and build.reason == "saved manifest not found"
    assert build.parse_s == 17.569  # Registered adapter 15:14:44.006033 -> 15:15:01.574872


def test_cursor_follows_dbts_log_rotation(tmp_path: Path) -> None:
    """dbt rotates dbt.log at 10 MB (a 5000-model build writes more): written through
    Python's RotatingFileHandler, as dbt writes it, with a rotation inside the measured
    invocation, the cursor still finds it whole and still skips what came before."""
    import logging
    from logging.handlers import RotatingFileHandler

    folder = tmp_path / "logs"
    folder.mkdir()
    before = (DATA / "parse_not_found_then_used.log").read_text()
    after = (DATA / "run_and_ls_used.log").read_text()
    handler = RotatingFileHandler(folder / "dbt.log", maxBytes=len(after) // 3, backupCount=5)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("fake-dbt")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        (folder / "dbt.log").write_text(before)  # what an earlier command left
        cursor = LogCursor(tmp_path)
        for line in after.splitlines():
            log.info(line)
    finally:
        handler.close()
        log.removeHandler(handler)
    assert (folder / "dbt.log.1").exists()  # it did rotate
    ev = cursor.evidence()
    assert ev is not None and ev["partial_parse_runs"] == [2, 2]
    assert ev["commands"] == evidence(read_invocations(after))["commands"]


def _chunks(name: str) -> list[list[str]]:
    """The recorded log's invocations, each its lines from its header on."""
    out: list[list[str]] = []
    for line in (DATA / name).read_text().splitlines():
        if "=====" in line:
            out.append([])
        if out:
            out[-1].append(line)
    return out


def _merge(chunks: list[list[str]], rnd: random.Random) -> str:
    """The chunks' lines in one stream, each chunk's in its order, as processes append."""
    queues = [list(c) for c in chunks]
    lines = []
    while any(queues):
        q = rnd.choice([q for q in queues if q])
        lines.append(q.pop(0))
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_interleaved_invocations_are_counted_exactly(rnd: random.Random) -> None:
    """Tasks running at once write one dbt.log: however their lines interleave, the
    commands, partial-parse counts, reasons and re-parsed files are those of the same
    invocations logged one after another (a DAG run at concurrency 4 had 31 of 198
    commands named after the host's argv and 23 manifest loads uncounted)."""
    chunks = _chunks("changed_profile_disabled.log") + _chunks("run_and_ls_used.log")
    sequential = evidence(read_invocations("\n".join(line for c in chunks for line in c) + "\n"))
    mixed = evidence(read_invocations(_merge(chunks, rnd)))
    assert sequential is not None and mixed is not None
    assert sorted(mixed["commands"]) == sorted(sequential["commands"]) == sorted(
        ["dbt parse"] * 3 + ["dbt run", "dbt ls"])
    for key in ("partial_parse_used", "partial_parse_runs", "reason", "reparsed"):
        assert mixed[key] == sequential[key], key
    assert sequential["partial_parse_runs"] == [3, 5]
    assert sequential["parse_s"] is not None


def test_interleaved_text_invocations_have_no_parse_time() -> None:
    """Two invocations whose lines mixed cannot pair a parse step's start and end."""
    a, b = _chunks("run_and_ls_used.log")
    text = "\n".join([a[0], b[0], *a[1:], *b[1:]]) + "\n"
    invs = read_invocations(text)
    assert all(i.overlapped for i in invs)
    ev = evidence(invs)
    assert ev is not None and ev["parse_s"] is None
    assert sorted(ev["commands"]) == ["dbt ls", "dbt run"]


def test_interleaved_json_invocations_are_told_apart_by_their_id() -> None:
    """JSON lines name their invocation: two mixed ones keep their own parse times."""
    lines = (DATA / "watcher_producer_json.log").read_text().splitlines()
    (inv_id,) = {json.loads(x)["info"]["invocation_id"] for x in lines if x.startswith("{")}
    other = [x.replace(inv_id, "00000000-0000-0000-0000-000000000000") for x in lines]
    text = _merge([lines, other], random.Random(3))
    first, second = read_invocations(text)
    assert first.parse_s == second.parse_s == 17.569
    ev = evidence([first, second])
    assert ev is not None
    assert ev["parse_s"] == 35.138 and ev["commands"] == ["cli build", "cli build"]
