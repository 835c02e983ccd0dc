"""Property-based tests of bad input (issue 31): random and mutated scenario files,
record lines, run.json files and argument lists go through each reader and subcommand
that does not start the stack (`harness run` only with --dry-run). Each must end in
success or in one line on stderr with exit code 2 (compare: 1 for a regression), never a
traceback, and change nothing outside its output folder. Calls are in-process
(harness.cli.main) and the examples few, so that the module takes seconds."""

from __future__ import annotations

from typing import Any

from fuzz_cli import FAST, ROOT, assert_clean_end, harness, scratch, snapshot
from fuzz_toml import to_toml
from hypothesis import given
from hypothesis import strategies as st

from harness.registry import AXES, PHASES
from harness.scenarios.scenario_file import MATRIX_KEYS, TOP_KEYS

# ------------------------------------------------------------------ values
junk = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.lists(st.one_of(st.integers(-3, 300), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.lists(st.lists(st.sampled_from(list(PHASES)), max_size=2), max_size=2),
)


def _valid(key: str) -> st.SearchStrategy[Any]:
    """Values a scenario file could well hold for ``key``."""
    if key in AXES:
        axis = AXES[key]
        choices = list(axis.choices or [axis.default])
        return st.sampled_from(choices) | st.lists(st.sampled_from(choices), min_size=1,
                                                   max_size=2)
    return {
        "phases": st.lists(st.sampled_from(list(PHASES)), min_size=1, max_size=2),
        "models": st.sampled_from([10, 20, [10, 20]]),
        "repetitions": st.integers(1, 3),
        "timeout_s": st.sampled_from([60, 1.5]),
        "shape": st.sampled_from(["layered", "chain"]),
        "task_sample": st.integers(1, 3),
        "bisect_steps": st.integers(1, 8),
    }.get(key, st.text(max_size=6))


def _table(keys: list[str], bad: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A table of a few of ``keys``, each a likely value (or, ``bad``, maybe junk)."""
    return st.lists(st.sampled_from(keys), max_size=4, unique=True).flatmap(
        lambda ks: st.fixed_dictionaries({k: _valid(k) | junk if bad else _valid(k) for k in ks})
    )


def _docs(bad: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Scenario documents: sane ones, or (``bad``) with junk in some places."""
    top = sorted(TOP_KEYS - {"matrix", "defaults"})
    keys = sorted(MATRIX_KEYS - {"project", "prepare", "profile"})
    return st.fixed_dictionaries(
        {"matrix": st.lists(_table(keys, bad), min_size=0 if bad else 1, max_size=2)}
    ).flatmap(lambda d: _table(top, bad).map(lambda t: {**t, **d}))


scenario_docs = _docs(False) | _docs(True)


@FAST
@given(doc=scenario_docs, extra=st.dictionaries(st.text(max_size=5), junk, max_size=1))
def test_random_scenario_files_dry_run_cleanly(doc: dict[str, Any], extra: dict[str, Any]) -> None:
    with scratch() as tmp:
        path = tmp / "s.toml"
        path.write_text(to_toml({**doc, **extra}), encoding="utf-8")
        before = snapshot(tmp)
        code, err = harness(["run", str(path), "--dry-run", "--results-dir", str(tmp / "r")])
        assert_clean_end(code, err)
        assert snapshot(tmp) == before  # a dry run writes nothing


def _mutate(text: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """``text`` with each (position, length cut, bytes put) applied in turn."""
    for pos, cut, put in edits:
        at = pos % (len(text) + 1)
        text = text[:at] + put + text[at + cut :]
    return text


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 8), st.binary(max_size=6)),
                 min_size=1, max_size=4)  # fmt: skip


@FAST
@given(name=st.sampled_from(["smoke.toml", "load_small.toml"]), changes=edits)
def test_mutated_scenario_files_dry_run_cleanly(name: str, changes: list[Any]) -> None:
    with scratch() as tmp:
        path = tmp / name
        path.write_bytes(_mutate((ROOT / "scenarios" / name).read_bytes(), changes))
        code, err = harness(["run", str(path), "--dry-run", "--results-dir", str(tmp)])
        assert_clean_end(code, err)
        assert sorted(p.name for p in tmp.iterdir()) == [name]
