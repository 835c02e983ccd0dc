"""The environment with another Cosmos release (harness.stack.altenv): the rewriting
of the locked requirements, the entry-point adaptation, and a real build."""

from __future__ import annotations

import os
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from harness.stack import altenv
from harness.stack.altenv import (
    COSMOS,
    cosmos_python,
    env_key,
    fallback_requirements,
    find_uv,
    installed_requirements,
    locked_requirements,
    replace_pin,
    requirement_name,
)
from harness.stack.entry_points import drop_entry_point_group
from harness.stack_env import QUIET_ENV

ROOT = Path(__file__).resolve().parents[1]
# The runner's own cache of envs (git-ignored): a second test run, or a run of the
# scenario file, reuses what the first one built.
ENV_ROOT = ROOT / ".harness-envs"
OLD_COSMOS = "1.13.1"

LOCKED = [
    "aenum==3.1.17",
    "apache-airflow==3.3.2",
    "astronomer-cosmos==1.15.1",
    "dbt-core==1.11.8",
    "dbt-duckdb==1.11.1",
    "uvloop==0.23.0 ; sys_platform != 'win32'",
]


def test_replace_pin_swaps_cosmos_and_keeps_everything_else() -> None:
    out = replace_pin(LOCKED, COSMOS, "1.13.1")
    assert out == [
        "aenum==3.1.17",
        "apache-airflow==3.3.2",
        "astronomer-cosmos==1.13.1",
        "dbt-core==1.11.8",
        "dbt-duckdb==1.11.1",
        "uvloop==0.23.0 ; sys_platform != 'win32'",
    ]


def test_replace_pin_matches_any_spelling_and_drops_markers() -> None:
    lines = ["Astronomer_Cosmos==1.15.1 ; python_version >= '3.10'", "six==1.16.0"]
    assert replace_pin(lines, COSMOS, "1.13.0") == ["astronomer-cosmos==1.13.0", "six==1.16.0"]


def test_replace_pin_refuses_a_package_the_lock_lacks() -> None:
    with pytest.raises(ValueError, match="astronomer-cosmos is not in the locked"):
        replace_pin(["six==1.16.0"], COSMOS, "1.13.1")


def test_requirement_name_skips_comments_and_options() -> None:
    assert requirement_name("# via airflow") is None
    assert requirement_name("    # via") is None
    assert requirement_name("-e .") is None
    assert requirement_name("") is None
    assert requirement_name("Dbt_Core==1.11.8") == "dbt-core"


def test_fallback_pins_only_the_core_stack() -> None:
    assert fallback_requirements(LOCKED, "1.13.1") == [
        "apache-airflow==3.3.2",
        "dbt-core==1.11.8",
        "dbt-duckdb==1.11.1",
        "astronomer-cosmos==1.13.1",
    ]
    with pytest.raises(ValueError, match="lack one of"):
        fallback_requirements(["apache-airflow==3.3.2"], "1.13.1")


def test_env_key_follows_the_requirements() -> None:
    a = env_key(replace_pin(LOCKED, COSMOS, "1.13.1"))
    assert a == env_key(replace_pin(LOCKED, COSMOS, "1.13.1"))
    assert a != env_key(replace_pin(LOCKED, COSMOS, "1.13.0"))
    assert a != env_key([*replace_pin(LOCKED, COSMOS, "1.13.1"), "six==1.16.0"])


def test_locked_requirements_are_the_runtime_pins_of_the_lock() -> None:
    pins = locked_requirements(find_uv())
    names = {requirement_name(p) for p in pins}
    assert {"apache-airflow", "astronomer-cosmos", "dbt-core", "dbt-duckdb"} <= names
    # Dev tools and the project itself stay out: only what a DAG file can import.
    assert not names & {"pytest", "ruff", "mypy", "cosmos-memory-harness"}
    assert all("==" in p for p in pins)


def test_installed_requirements_stand_in_without_a_lock() -> None:
    pins = installed_requirements()
    assert f"{COSMOS}=={version(COSMOS)}" in {p.lower() for p in pins}
    assert not any(requirement_name(p) == "cosmos-memory-harness" for p in pins)


def test_drop_entry_point_group_keeps_the_rest_and_spares_hard_links(tmp_path: Path) -> None:
    text = (
        "[airflow.plugins]\ncosmos = cosmos.plugin:CosmosPlugin\n\n"
        "[apache_airflow_provider]\nprovider_info = cosmos.provider_info:get_provider_info\n"
    )
    cached = tmp_path / "cache-entry_points.txt"
    cached.write_text(text)
    dist_info = tmp_path / "astronomer_cosmos-1.13.1.dist-info"
    dist_info.mkdir()
    # uv installs by hard-linking its cache: the cached copy must stay as it was.
    os.link(cached, dist_info / "entry_points.txt")
    assert drop_entry_point_group(dist_info, "apache_airflow_provider")
    assert (dist_info / "entry_points.txt").read_text() == (
        "[airflow.plugins]\ncosmos = cosmos.plugin:CosmosPlugin\n"
    )
    assert cached.read_text() == text
    assert not drop_entry_point_group(dist_info, "apache_airflow_provider")


def test_bad_version_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not a release number"):
        cosmos_python("1.13; rm -rf /", tmp_path, tmp_path)


# Words of uv's errors when it cannot reach the package registry.
UNREACHABLE = (
    "Failed to fetch",
    "error sending request",
    "dns error",
    "Connection refused",
    "timed out",
    "Could not connect",
    "failed to lookup address",
    "network",
)


@pytest.mark.slow
def test_env_with_an_older_cosmos_is_built_once_and_imports(tmp_path: Path) -> None:
    """Builds ENV_ROOT/cosmos-1.13.1 (about 10 s with a warm uv cache; it is kept)."""
    t0 = time.monotonic()
    try:
        python = cosmos_python(OLD_COSMOS, ENV_ROOT, tmp_path)
    except RuntimeError as exc:
        if any(word.lower() in str(exc).lower() for word in UNREACHABLE):
            pytest.skip(f"package registry unreachable: {exc}")
        raise
    first_s = time.monotonic() - t0
    env_dir = ENV_ROOT / f"cosmos-{OLD_COSMOS}"
    marker = env_dir / altenv.MARKER
    built_at = marker.stat().st_mtime_ns

    # Cosmos 1.13 imports Airflow eagerly, and Airflow logs to stdout: its own home here.
    env = {**os.environ, **QUIET_ENV, "AIRFLOW_HOME": str(tmp_path / "airflow-home")}
    proc = subprocess.run(
        [python, "-c", "import cosmos; print(cosmos.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == OLD_COSMOS

    # What was installed is recorded beside the run's logs: the locked stack, Cosmos swapped.
    freeze = (tmp_path / f"cosmos-{OLD_COSMOS}-freeze.txt").read_text().splitlines()
    assert f"{COSMOS}=={OLD_COSMOS}" in freeze
    locked = set(locked_requirements(find_uv()))
    airflow_pin = next(p for p in locked if requirement_name(p) == "apache-airflow")
    assert airflow_pin in freeze, f"built {env_dir} on another Airflow than the lock's"
    # Airflow >= 3.2 cannot import Cosmos <= 1.13 unadapted; the freeze says so.
    assert any(line.startswith("# adapted: dropped") for line in freeze)

    # Reused, not rebuilt: same marker, and quick.
    t1 = time.monotonic()
    assert cosmos_python(OLD_COSMOS, ENV_ROOT, tmp_path) == python
    assert marker.stat().st_mtime_ns == built_at
    assert time.monotonic() - t1 < 10, f"reuse took {time.monotonic() - t1:.1f} s"
    print(f"first call {first_s:.1f} s ({altenv.read_marker(env_dir).get('build_s')} s build)")
