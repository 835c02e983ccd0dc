"""Scenario files: loading, refusals, matrix expansion and the collapse of axes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.registry import AXES, PHASES
from harness.scenarios import expand, load_scenario_file, select

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_every_shipped_scenario_file_loads() -> None:
    files = sorted((ROOT / "scenarios").glob("*.toml"))
    assert files, "scenarios/ holds no file"
    for path in files:
        spec = load_scenario_file(path)
        assert expand(spec), path


def test_cartesian_product_and_collapse(tmp_path: Path) -> None:
    spec = load_scenario_file(
        write(
            tmp_path,
            """
[[matrix]]
phases = ["dag_parse"]
models = [10, 100]
load_mode = ["DBT_LS", "DBT_MANIFEST"]
cache = ["cold", "warm"]
render_invocation = ["DBT_RUNNER", "SUBPROCESS"]
concurrency = [1, 2, 4]
""",
        )
    )
    ids = [m.scenario_id for m in expand(spec)]
    # DBT_LS: 2 caches x 2 invocations; DBT_MANIFEST runs no dbt ls: 1. Concurrency
    # does not shape a parse. Two sizes.
    assert len(ids) == 2 * (4 + 1)
    assert len(set(ids)) == len(ids)
    assert not any("concurrency" in i for i in ids)
    assert all("cache" not in i for i in ids if "DBT_MANIFEST" in i)


def test_import_phase_ignores_the_project(tmp_path: Path) -> None:
    spec = load_scenario_file(
        write(
            tmp_path,
            """
[[matrix]]
phases = ["import"]
models = [10, 100, 1000]
memory_optimised_imports = [true, false]
""",
        )
    )
    ids = sorted(m.scenario_id for m in expand(spec))
    assert ids == [
        "import/memory_optimised_imports=off/worker_limit_mib=0",
        "import/memory_optimised_imports=on/worker_limit_mib=0",
    ]


def test_repetitions_largest_wins_and_matrix_override(tmp_path: Path) -> None:
    spec = load_scenario_file(
        write(
            tmp_path,
            """
repetitions = 2
[[matrix]]
name = "a"
phases = ["import"]
[[matrix]]
name = "b"
phases = ["import"]
repetitions = 5
""",
        )
    )
    (m,) = expand(spec)
    assert m.repetitions == 5


def test_defaults_apply_to_every_matrix(tmp_path: Path) -> None:
    spec = load_scenario_file(
        write(
            tmp_path,
            """
[defaults]
execution_mode = "WATCHER"
[[matrix]]
phases = ["dag_run"]
""",
        )
    )
    (m,) = expand(spec)
    assert m.scenario.axes["execution_mode"] == "WATCHER"
    assert set(m.scenario.axes) == set(AXES)


def test_every_axis_shapes_a_known_phase() -> None:
    for axis in AXES.values():
        assert axis.phases and set(axis.phases) <= set(PHASES), axis.name


def test_select_expression(tmp_path: Path) -> None:
    spec = load_scenario_file(
        write(
            tmp_path,
            """
[[matrix]]
phases = ["import", "dbt_baseline"]
memory_optimised_imports = [true, false]
""",
        )
    )
    ms = expand(spec)
    assert len(ms) == 3
    assert [m.phase for m in select(ms, "dbt_baseline")] == ["dbt_baseline"]
    assert len(select(ms, "import and not memory_optimised_imports=on")) == 1
    assert len(select(ms, "(import or dbt_baseline) and not nothing")) == 3
    with pytest.raises(UsageError):
        select(ms, "import and (")
    with pytest.raises(UsageError):
        select(ms, "and")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[matrix]]\nload_mode = 'FAST'", "matrix[0].load_mode: unknown value 'FAST'"),
        ("[[matrix]]\nspeed = 1", "matrix[0]: unknown key 'speed'"),
        ("color = 1\n[[matrix]]", "unknown key 'color'"),
        ("[[matrix]]\nphases = ['warp']", "matrix[0].phases: unknown phase 'warp'"),
        ("[[matrix]]\nmodels = 0", "matrix[0].models: must be at least 10"),
        ("[[matrix]]\nmodels = 20000", "matrix[0].models: at most 10000"),
        ("[[matrix]]\nmodels = 'many'", "matrix[0].models: expected a whole number"),
        ("[[matrix]]\nshape = 'star'", "matrix[0].shape: unknown shape 'star'"),
        ("[[matrix]]\npartial_parse = 'yes'", "matrix[0].partial_parse: expected true or false"),
        ("[[matrix]]\nconcurrency = 0", "matrix[0].concurrency: must be at least 1"),
        ("[[matrix]]\nload_mode = []", "matrix[0].load_mode: empty list"),
        ("repetitions = 0\n[[matrix]]", "repetitions: must be at least 1"),
        ("[defaults]\nwarp = 1\n[[matrix]]", "defaults: unknown key 'warp'"),
        ("description = 'x'", "at least one [[matrix]]"),
        ("[[matrix]]\n[[matrix]", "malformed TOML"),
        ("[[matrix]]\nproject = 'nowhere'", "is not a dbt project"),
        ("[[matrix]]\nproject = '.'\nmodels = 10", "cannot be combined with models"),
        ("[[matrix]]\ntask_groups = 5", "matrix[0].task_groups: must be one of 0, 1, 10, 36"),
    ],
)
def test_bad_files_name_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_scenario_file(path)
    message = str(info.value)
    assert needle in message
    assert str(path) in message
    assert "\n" not in message


def test_own_project_path_is_resolved_against_the_file(tmp_path: Path) -> None:
    proj = tmp_path / "mine"
    proj.mkdir()
    (proj / "dbt_project.yml").write_text("name: mine\nprofile: mine\n")
    spec = load_scenario_file(
        write(tmp_path, "[[matrix]]\nphases = ['dbt_baseline']\nproject = 'mine'")
    )
    (m,) = expand(spec)
    assert m.scenario.project.path == str(proj.resolve())
    assert str(proj.resolve()) in m.scenario_id


def test_task_groups_need_a_generated_project(tmp_path: Path) -> None:
    """A user's project has no slice tags for the groups to select: one clear line."""
    proj = tmp_path / "mine"
    proj.mkdir()
    (proj / "dbt_project.yml").write_text("name: mine\nprofile: mine\n")
    path = write(tmp_path, "[[matrix]]\nphases = ['dag_parse']\nproject = 'mine'\ntask_groups = 10")
    with pytest.raises(UsageError, match=r"matrix\[0\]\.task_groups: needs a generated project"):
        load_scenario_file(path)
