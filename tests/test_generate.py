"""Tests of `harness generate`: graph properties, the written tree, refusals, real dbt."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.generate import (
    MARKER,
    MAX_TESTS_PER_MODEL,
    SHAPES,
    GeneratedProject,
    generate_project,
    is_current,
    write_manifest,
)
from harness.generate.graph import MATERIALIZATIONS, MAX_UNMATERIALIZED_DEPTH, build_graph
from harness.generate.render import slices_of
from harness.registry.axes import TASK_GROUP_COUNTS, slice_tag
from harness.stack_env import quiet_env

REPO = Path(__file__).resolve().parent.parent
DBT = Path(sys.executable).parent / "dbt"

REF = re.compile(r"\bref\('([^']+)'\)")
SOURCE = re.compile(r"\bsource\('([^']+)', '([^']+)'\)")

sizes = st.integers(min_value=10, max_value=300)
shapes = st.sampled_from(SHAPES)
seeds = st.integers(min_value=0, max_value=2**32)
# Writing a project is file I/O: no deadline, fewer examples than the pure graph tests.
disk = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def toposort(deps: dict[str, set[str]]) -> list[str]:
    """Kahn's algorithm; raises if the graph has a cycle (independent of the generator)."""
    indegree = {n: len(d) for n, d in deps.items()}
    children: dict[str, list[str]] = {n: [] for n in deps}
    for n, d in deps.items():
        for p in d:
            children[p].append(n)
    ready = [n for n, k in indegree.items() if k == 0]
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for c in children[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if len(order) != len(deps):
        raise AssertionError("cycle among models")
    return order


def read_project(root: Path) -> tuple[dict[str, str], set[str], set[tuple[str, str]]]:
    """(model name -> SQL, seed names, declared (source, table) pairs) from the files."""
    models = {p.stem: p.read_text() for p in (root / "models").rglob("*.sql")}
    seed_names = {p.stem for p in (root / "seeds").glob("*.csv")}
    sources_yml = (root / "models" / "staging" / "_sources.yml").read_text()
    tables = re.findall(r"^      - name: (\S+)$", sources_yml, flags=re.M)
    return models, seed_names, {("raw", t) for t in tables}


# --- the graph, pure ---------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(models=sizes, shape=shapes, seed=seeds)
def test_graph_is_acyclic_complete_and_safe(models: int, shape: str, seed: int) -> None:
    graph = build_graph(models, shape, seed)
    assert len(graph.nodes) == models
    assert len({n.name for n in graph.nodes}) == models
    by_index = {n.index: n for n in graph.nodes}
    depth: dict[int, int] = {}
    for i, node in enumerate(graph.nodes):
        assert node.index == i
        # Acyclic by construction: every parent comes earlier in the order.
        assert all(0 <= p < i for p in node.parents)
        assert len(set(node.parents)) == len(node.parents)
        # A model reads a raw table (staging) or other models, never neither.
        assert (node.source is None) == bool(node.parents)
        assert node.source is None or node.source in graph.sources
        assert node.materialized in MATERIALIZATIONS
        if node.materialized == "ephemeral":
            assert all(by_index[p].materialized != "ephemeral" for p in node.parents)
        unmaterialized = node.materialized in ("view", "ephemeral")
        depth[i] = (1 + max((depth[p] for p in node.parents), default=0)) if unmaterialized else 0
        assert depth[i] <= MAX_UNMATERIALIZED_DEPTH
    # Even the smallest project exercises every materialisation.
    assert set(Counter(n.materialized for n in graph.nodes)) == set(MATERIALIZATIONS)


def test_random_shape_has_heavy_tailed_fan_in() -> None:
    graph = build_graph(2000, "random", 0)
    fan_in = Counter(len(n.parents) for n in graph.nodes if n.parents)
    # Most models join one or two parents, a few join ten or more.
    assert fan_in[1] + fan_in[2] > 0.6 * sum(fan_in.values())
    assert max(fan_in) >= 10


def test_shapes_differ_as_documented() -> None:
    chain = build_graph(50, "chain", 0)
    assert all(n.parents == (n.index - 1,) for n in chain.nodes[1:])
    wide = build_graph(500, "wide", 0)
    assert len(wide.sources) == 3
    assert max(Counter(p for n in wide.nodes for p in n.parents).values()) > 100
    layered = build_graph(100, "layered", 0)
    assert {n.layer for n in layered.nodes} == {"staging", "intermediate", "marts"}


# --- the written tree ----------------------------------------------------------


@disk
@given(models=sizes, shape=shapes, seed=seeds)
def test_written_project_resolves_and_counts(models: int, shape: str, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = generate_project(Path(tmp) / "p", models, shape, seed, tests_per_model=3)
        sql, seed_names, sources = read_project(project.path)
        assert len(sql) == models
        assert sorted(sql) == sorted(project.model_names)
        assert set(project.seed_names) == seed_names
        deps: dict[str, set[str]] = {}
        for name, text in sql.items():
            refs = set(REF.findall(text))
            assert refs <= set(sql) | seed_names, f"{name} refs something missing"
            assert set(SOURCE.findall(text)) <= sources, f"{name} reads a missing source"
            deps[name] = refs & set(sql)
        toposort(deps)
        # Schema files: every model described once; test targets exist too.
        described: list[str] = []
        for yml in (project.path / "models").rglob("_models.yml"):
            text = yml.read_text()
            described += re.findall(r"^  - name: (\S+)$", text, flags=re.M)
            assert set(REF.findall(text)) <= set(sql)
            assert set(SOURCE.findall(text)) <= sources
        assert sorted(described) == sorted(sql)
        assert project.tests == 3 * models + 2 * len(seed_names)


@disk
@given(models=sizes, shape=shapes, seed=seeds)
def test_same_arguments_write_identical_trees(models: int, shape: str, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p"
        generate_project(out, models, shape, seed)
        first = tree_digest(out)
        generate_project(out, models, shape, seed)
        assert tree_digest(out) == first


def test_different_seeds_write_different_projects(tmp_path: Path) -> None:
    a = generate_project(tmp_path / "a", 200, "random", seed=1, db_path=tmp_path / "x.duckdb")
    b = generate_project(tmp_path / "b", 200, "random", seed=2, db_path=tmp_path / "x.duckdb")
    assert tree_digest(a.path) != tree_digest(b.path)


def test_project_layout_and_profile(tmp_path: Path) -> None:
    project = generate_project(tmp_path / "proj", 40, "layered", seed=3, tests_per_model=2)
    assert isinstance(project, GeneratedProject)
    assert (project.path, project.models, project.shape, project.seed) == (
        tmp_path / "proj",
        40,
        "layered",
        3,
    )
    assert project.db_path == tmp_path / "proj.duckdb"
    dbt_project = (project.path / "dbt_project.yml").read_text()
    profiles = (project.path / "profiles.yml").read_text()
    assert "name: synthetic_layered_40\n" in dbt_project
    assert "profile: synthetic_layered_40\n" in dbt_project
    assert profiles.count("synthetic_layered_40:\n") == 1
    # The database lives beside the project, never inside it (Cosmos hashes the folder).
    assert f"env_var('HARNESS_DUCKDB_PATH', '{tmp_path / 'proj.duckdb'}')" in profiles
    assert "threads: 1" in profiles and "target: dev" in profiles
    assert sorted(p.name for p in (project.path / "macros").iterdir()) == [
        "cents_to_dollars.sql",
        "incremental_filter.sql",
        "make_label.sql",
        "sum_amounts.sql",
    ]
    marker = json.loads((project.path / MARKER).read_text())
    assert marker["models"] == 40 and marker["shape"] == "layered"
    all_sql = "".join(p.read_text() for p in (project.path / "models").rglob("*.sql"))
    for macro in ("cents_to_dollars(", "sum_amounts(", "make_label(", "incremental_filter("):
        assert macro in all_sql


def test_tests_per_model_zero_and_max(tmp_path: Path) -> None:
    none = generate_project(tmp_path / "none", 10, "chain", tests_per_model=0)
    assert none.tests == 0
    assert "data_tests" not in "".join(p.read_text() for p in none.path.rglob("*.yml"))
    full = generate_project(tmp_path / "full", 10, "chain", tests_per_model=MAX_TESTS_PER_MODEL)
    text = "".join(p.read_text() for p in full.path.rglob("_models.yml"))
    assert text.count("- relationships:") == 10
    assert text.count("- unique") == 20 and text.count("- not_null") == 40


# --- refusals --------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, *needles: str) -> None:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("harness generate: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


@pytest.mark.parametrize("value", ["0", "-5", "9", "abc", "1.5", "10001", "1e3", ""])
def test_bad_model_count_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    out = tmp_path / "p"
    code, stdout, err = run_cli(capsys, "--models", value, "--out", str(out))
    assert code == 2 and stdout == ""
    assert_one_line_error(err, "--models")
    assert not out.exists()


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--shape", "star"),
        ("--shape", ""),
        ("--seed", "-1"),
        ("--seed", "x"),
        ("--tests-per-model", "-1"),
        ("--tests-per-model", str(MAX_TESTS_PER_MODEL + 1)),
        ("--tests-per-model", "two"),
    ],
)
def test_bad_option_value_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    out = tmp_path / "p"
    code, _, err = run_cli(capsys, "--models", "10", flag, value, "--out", str(out))
    assert code == 2
    assert_one_line_error(err, flag)
    assert not out.exists()


def test_foreign_non_empty_directory_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "sub").mkdir()
    code, _, err = run_cli(capsys, "--models", "10", "--out", str(out))
    assert code == 2
    assert_one_line_error(err, "not empty", str(out))
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "sub"]
    assert (out / "notes.txt").read_text() == "keep me"


def test_out_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "file"
    out.write_text("x")
    code, _, err = run_cli(capsys, "--models", "10", "--out", str(out))
    assert code == 2
    assert_one_line_error(err, "not a directory")
    assert out.read_text() == "x"


def test_database_inside_the_project_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p"
    code, _, err = run_cli(
        capsys, "--models", "10", "--out", str(out), "--db-path", str(out / "db.duckdb")
    )
    assert code == 2
    assert_one_line_error(err, "outside")
    assert not out.exists()


def test_regenerating_replaces_own_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p"
    assert run_cli(capsys, "--models", "300", "--shape", "wide", "--out", str(out))[0] == 0
    (out / "target").mkdir()
    (out / "target" / "stale.json").write_text("{}")
    code, stdout, err = run_cli(capsys, "--models", "10", "--shape", "chain", "--out", str(out))
    assert code == 0 and err == ""
    assert stdout.count("\n") == 1 and "wrote 10 models (chain, seed 0)" in stdout
    assert not (out / "target").exists()
    assert len(list((out / "models").rglob("*.sql"))) == 10


def test_empty_existing_directory_is_used(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert main(["generate", "--models", "10", "--out", str(out)]) == 0
    assert (out / MARKER).is_file()


def test_missing_required_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--out", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--models" in err


def test_python_api_refuses_bad_values(tmp_path: Path) -> None:
    from harness.errors import UsageError

    for kwargs in ({"models": 5}, {"models": 10, "shape": "ring"}, {"models": True}):
        with pytest.raises(UsageError):
            generate_project(tmp_path / "p", **kwargs)
    assert not (tmp_path / "p").exists()


def test_refusal_through_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    # One process is enough: every refusal goes through the same UsageError path,
    # and the in-process tests above cover each of them.
    out = tmp_path / "p"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "generate", "--models", "ten", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, "--models", "'ten'")
    assert not out.exists()


# --- the real stack: dbt-core + dbt-duckdb ----------------------------------------


def dbt(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project.parent,
        env=quiet_env(env),
        capture_output=True,
        text=True,
        check=False,
    )


def assert_all_passed(project: GeneratedProject, proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout[-3000:]
    results = json.loads((project.path / "target" / "run_results.json").read_text())["results"]
    status = Counter(r["status"] for r in results)
    assert set(status) <= {"success", "pass"}, status
    kinds = Counter(r["unique_id"].split(".")[0] for r in results)
    # Ephemeral models are not run on their own; all others are.
    built = sum(
        1 for p in (project.path / "models").rglob("*.sql") if "'ephemeral'" not in p.read_text()
    )
    assert kinds["model"] == built
    assert kinds["seed"] == len(project.seed_names)
    assert kinds["test"] == project.tests


@pytest.mark.slow
@pytest.mark.parametrize("shape", SHAPES)
def test_dbt_build_passes_and_layered_twice(tmp_path: Path, shape: str) -> None:
    db = tmp_path / "warehouse.duckdb"
    project = generate_project(
        tmp_path / "proj", 10, shape, seed=7, tests_per_model=MAX_TESTS_PER_MODEL, db_path=db
    )
    # Half the shapes use the default path in profiles.yml, half the env override.
    override = shape in ("wide", "random")
    env = {"HARNESS_DUCKDB_PATH": str(tmp_path / "other.duckdb")} if override else None
    first = dbt(project.path, "build", env=env)
    assert_all_passed(project, first)
    if shape == "layered":
        # Second run: incremental models take their is_incremental() branch. The shape
        # sets the edges, not the SQL a materialization runs: one shape (the suite's time).
        second = dbt(project.path, "build", env=env)
        assert_all_passed(project, second)
        assert "incremental model" in second.stdout
    assert (tmp_path / ("other.duckdb" if override else "warehouse.duckdb")).is_file()
    assert not (tmp_path / ("warehouse.duckdb" if override else "other.duckdb")).exists()
    assert not list(project.path.rglob("*.duckdb"))


@pytest.mark.slow
def test_dbt_parse_accepts_1000_models(tmp_path: Path) -> None:
    project = generate_project(tmp_path / "big", 1000, "layered", seed=0, tests_per_model=2)
    manifest_path = write_manifest(project.path)
    assert manifest_path == project.path / "target" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    kinds = Counter(node["resource_type"] for node in manifest["nodes"].values())
    assert kinds["model"] == 1000
    assert kinds["seed"] == len(project.seed_names)
    assert kinds["test"] == project.tests
    assert len(manifest["sources"]) == len(project.seed_names)
    assert os.path.getsize(manifest_path) > 0


@given(models=st.integers(min_value=1, max_value=5000), groups=st.integers(1, 200))
def test_slices_cover_every_model_and_every_group(models: int, groups: int) -> None:
    members: dict[int, list[int]] = {}
    for i in range(models):
        for k in slices_of(i, models, groups):
            assert 0 <= k < groups
            members.setdefault(k, []).append(i)
    # Every group selects something; with no more groups than models, each model is in
    # one group and a group's models are a contiguous run (a subject area).
    assert sorted(members) == list(range(groups))
    if groups <= models:
        assert sorted(i for m in members.values() for i in m) == list(range(models))
        assert all(m == list(range(m[0], m[-1] + 1)) for m in members.values())
    else:
        assert all(len(m) == 1 for m in members.values())


@pytest.mark.slow
def test_dbt_sees_one_slice_tag_per_group_count(tmp_path: Path) -> None:
    """dbt's own manifest carries the slice tags a DAG of task groups selects by."""
    project = generate_project(tmp_path / "p", 12, "layered", seed=3)
    manifest = json.loads(write_manifest(project.path).read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    for n in TASK_GROUP_COUNTS:
        tagged = {slice_tag(k, n): 0 for k in range(n)}
        for node in models:
            mine = [t for t in node["tags"] if t.endswith(f"_of_{n}")]
            assert mine and all(t in tagged for t in mine), node["tags"]
            for t in mine:
                tagged[t] += 1
        assert all(tagged.values()), tagged  # no group selects nothing
        assert sum(tagged.values()) == max(n, len(models))


def test_a_project_of_an_older_generator_is_not_current(tmp_path: Path) -> None:
    out = tmp_path / "p"
    generate_project(out, 10)
    assert is_current(out, 10) and not is_current(out, 11) and not is_current(out, 10, seed=1)
    marker = json.loads((out / MARKER).read_text())
    (out / MARKER).write_text(json.dumps({**marker, "version": 1}, indent=2, sort_keys=True))
    assert not is_current(out, 10)
    assert not is_current(tmp_path / "missing", 10)
