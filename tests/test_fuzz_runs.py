"""Property-based tests of the readers of stored runs (issue 31): mutated record lines
and run.json files through compare, merge, filter, history and report, and random
argument lists through the subcommands that start nothing. Success, exit 1 where it
means a regression, or one line and exit code 2; never a traceback; nothing changed
outside the output folder. Mutated lines added to a run's good records are read or
skipped (at most one warning line), never a refusal of the run."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from fuzz_cli import FAST, SLOW, SMOKE_LINES, SMOKE_RUN, assert_clean_end, harness, snapshot
from fuzz_cli import scratch as scratch_dir
from hypothesis import given
from hypothesis import strategies as st

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["NaN", "Infinity"]),
)  # fmt: skip
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=6), inner, max_size=3), max_leaves=8)  # fmt: skip
NAN_MARK = "\ue000"
"""Stands for a bare NaN/Infinity token in a mutated line (JSON has no such value)."""


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of nested dicts and lists in ``data``."""
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def mutate(data: Any, where: tuple[Any, ...], new: Any) -> str:
    """``data`` as JSON with the value at ``where`` replaced by ``new`` (a bare NaN or
    Infinity token when ``new`` is that string)."""
    if not where:
        return json.dumps(new)
    parent = data
    for key in where[:-1]:
        parent = parent[key]
    bare = new in ("NaN", "Infinity")
    parent[where[-1]] = NAN_MARK if bare else new
    return json.dumps(data).replace(json.dumps(NAN_MARK), str(new))


@st.composite
def mutated_lines(draw: st.DrawFn) -> str:
    """A recorded result line with one value replaced, a key dropped, or a deep nest."""
    data = json.loads(draw(st.sampled_from(SMOKE_LINES)))
    how = draw(st.sampled_from(["replace", "drop", "deep", "bytes"]))
    if how == "deep":
        return "[" * draw(st.integers(60, 3000)) + "]" * 1
    if how == "bytes":
        return draw(st.binary(min_size=1, max_size=40)).decode("latin-1").replace("\n", " ")
    where = draw(st.sampled_from(_paths(data)))
    if how == "drop":
        parent = data
        for key in where[:-1]:
            parent = parent[key]
        del parent[where[-1]]
        return json.dumps(data)
    return mutate(data, where, draw(json_values))


def _run_with(tmp: Path, lines: list[str] | None = None, info: bytes | None = None) -> Path:
    run = tmp / "run"
    shutil.copytree(SMOKE_RUN, run)
    if lines is not None:
        with (run / "results.jsonl").open("a", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in lines)
    if info is not None:
        (run / "run.json").write_bytes(info)
    return run


COMMANDS = {
    "compare": lambda run, out: ["compare", str(SMOKE_RUN), str(run)],
    "merge": lambda run, out: ["merge", str(out), str(run)],
    "filter": lambda run, out: ["filter", str(run), str(out), "--drop-status", "error"],
}
"""The quick readers; history and report (seconds each: plots) have a test of their own."""
PAGES = {
    "history": lambda run, out: ["history", str(run), "--out", str(out)],
    "report": lambda run, out: ["report", str(run)],
}


def check_command(tmp: Path, run: Path, command: str, *, records_kept: bool = False) -> None:
    """Run ``command`` on ``run``; only ``tmp/out`` (and a report's files) may change.
    ``records_kept``: the run's own records are all there, so lines added to them are
    skipped with at most one warning line, never a refusal."""
    before = _outside_outputs(snapshot(tmp))
    code, err = harness({**COMMANDS, **PAGES}[command](run, tmp / "out"))
    assert_clean_end(code, err, ok=(0, 1) if command == "compare" else (0,))
    if records_kept:
        assert code != 2, err
        warned = [line for line in err.splitlines() if ": warning: " in line]
        assert len(warned) <= 1 and all("results.jsonl: skipped" in w for w in warned), err
    assert _outside_outputs(snapshot(tmp)) == before


def _outside_outputs(tree: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tree.items() if not k.startswith("out") and "report" not in k}


@FAST
@given(lines=st.lists(mutated_lines(), min_size=1, max_size=2),
       command=st.sampled_from(sorted(COMMANDS)))  # fmt: skip
def test_mutated_record_lines_are_skipped_or_read(lines: list[str], command: str) -> None:
    with scratch_dir() as tmp:
        check_command(tmp, _run_with(tmp, lines=lines), command, records_kept=True)


run_json_docs = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=30),
    st.builds(
        lambda where, new: mutate(json.loads((SMOKE_RUN / "run.json").read_text()), where,
                                  new).encode(),
        st.sampled_from(_paths(json.loads((SMOKE_RUN / "run.json").read_text()))),
        json_values,
    ),
)  # fmt: skip


@FAST
@given(info=run_json_docs, command=st.sampled_from(sorted(COMMANDS)))
def test_random_run_json_is_refused_or_read(info: bytes, command: str) -> None:
    with scratch_dir() as tmp:
        check_command(tmp, _run_with(tmp, info=info), command)


@SLOW
@given(lines=st.lists(mutated_lines(), max_size=1), info=run_json_docs | st.none(),
       command=st.sampled_from(sorted(PAGES)))  # fmt: skip
def test_pages_of_a_mutated_run_are_refused_or_written(
    lines: list[str], info: bytes | None, command: str
) -> None:
    with scratch_dir() as tmp:
        check_command(tmp, _run_with(tmp, lines=lines, info=info), command,
                      records_kept=info is None)


NUMBERS = ["-5", "0", "nan", "inf", "-inf", "1e308", "10", "3/2", "0/0", "", "x", "1.5"]
FLAGS = {
    "generate": ["--models", "--shape", "--seed", "--tests-per-model", "--out", "--db-path"],
    "run": ["-k", "--shard", "--resume", "--rerun-failed", "--run-id", "--results-dir"],
    "compare": ["--threshold", "--threshold-memory", "--threshold-time", "--format",
                "--export-pytest-benchmark", "--results-dir", "--history"],
    "merge": [], "filter": ["-k", "--status", "--drop-status", "--results-dir"],
    "registry": [],
}  # fmt: skip


@st.composite
def argument_lists(draw: st.DrawFn, tmp: str) -> list[str]:
    """A subcommand with random flags and values: numbers, names, paths in ``tmp``."""
    command = draw(st.sampled_from(sorted(FLAGS)))
    words = ["run", "out", "x.toml", "..", "/", "a/b/c", "x" * 300, "latest", "--"]
    values = st.sampled_from(NUMBERS + words + [f"{tmp}/{w}" for w in words]) | st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=6)
    flags = st.sampled_from(FLAGS[command]) if FLAGS[command] else st.nothing()
    args = draw(st.lists(flags | values, max_size=6))
    return [command, *args, *(["--dry-run"] if command == "run" else [])]


@FAST
@given(data=st.data())
def test_random_argument_lists_end_cleanly(data: st.DataObject) -> None:
    with scratch_dir() as tmp:
        _run_with(tmp)
        (tmp / "x.toml").write_text("[[matrix]]\nphases = ['import']\n")
        (tmp / "out").mkdir()
        argv = data.draw(argument_lists(str(tmp)))
        if argv[0] == "generate" and "--models" in argv:
            argv += ["--models", "10"]  # the last one counts: no big project
        before = snapshot(tmp)
        # A relative output ("then", "--") lands in a folder of its own, not in the
        # checkout the suite runs from.
        with scratch_dir() as cwd, contextlib.chdir(cwd):
            code, err = harness(argv)
        assert_clean_end(code, err, ok=(0, 1) if argv[0] == "compare" else (0,))
        if argv[0] not in ("generate", "merge", "filter"):
            assert snapshot(tmp) == before
