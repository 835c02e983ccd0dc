"""Where and with what a run measures: the stack's versions, the machine, the CI runner
and the harness's commit, gathered when a run starts (the counterpart of
pytest-benchmark's machine_info/commit_info and pyperf's metadata); run.json keeps them
(harness.store.runinfo)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import psutil

PACKAGES = (
    "apache-airflow",
    "apache-airflow-core",
    "apache-airflow-task-sdk",
    "astronomer-cosmos",
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "psutil",
)


def package_versions() -> dict[str, str | None]:
    """Installed versions of the measured stack (None where absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# CI variables that name the runner and the workflow run (GitHub Actions sets them).
RUNNER_ENV = {
    "name": "RUNNER_NAME",
    "os": "RUNNER_OS",
    "run_id": "GITHUB_RUN_ID",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
}


def runner_info(shard: tuple[int, int] | list[int] | None = None) -> dict[str, Any]:
    """Which CI runner measured (empty values outside CI) and the shard "k/K" it ran, so
    a merged run shows when its shards came from different machines."""
    info: dict[str, Any] = {key: os.environ.get(var) for key, var in RUNNER_ENV.items()}
    info["shard"] = f"{shard[0]}/{shard[1]}" if shard else None
    return info


def machine_info(shard: tuple[int, int] | list[int] | None = None) -> dict[str, Any]:
    """Cores, memory, CPU model, kernel: what every figure was measured on; and the
    runner (name, OS, CI run, shard) that measured it."""
    uname = platform.uname()
    return {
        "node": uname.node,
        "system": uname.system,
        "kernel": uname.release,
        "machine": uname.machine,
        "cpu": _cpu_model(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "runner": runner_info(shard),
    }


def commit_info(repo: Path | None = None) -> dict[str, Any]:
    """The harness's git commit and whether the tree was dirty (empty if not a checkout)."""
    cwd = repo or Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {
            "id": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "time": git("show", "-s", "--format=%cI", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.CalledProcessError):
        return {}
