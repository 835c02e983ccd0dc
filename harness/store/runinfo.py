"""run.json: how and where a run was measured (versions, machine, commit, backend),
the counterpart of pytest-benchmark's machine_info/commit_info and pyperf's metadata."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from harness.store.validate import BadJson, loads, type_problem

RUN_FILE = "run.json"
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


def write_run_info(run_dir: Path, info: dict[str, Any]) -> Path:
    """Write run.json atomically (a crash never leaves half a file)."""
    path = run_dir / RUN_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


class CorruptRunInfo(ValueError):
    """A run folder's run.json cannot be read as run.json (hand-edited or damaged)."""


RUN_INFO_TYPES: dict[str, Any] = {
    **dict.fromkeys(("run_id", "started_at", "finished_at", "merged_at", "filtered_at",
                     "state", "scenario_file", "scenario_text", "backend", "owner",
                     "python_executable"), str | None),
    **dict.fromkeys(("machine", "versions", "commit", "filtered_from", "projects"),
                    dict[str, Any] | None),
    **dict.fromkeys(("merged_from", "cpu_reference"), list[dict[str, Any]] | None),
    "mixed": list[str] | None,
    "resumed_at": list[str] | None,
    "estimate_s": float | None,
    "shard": list[int] | str | None,
}  # fmt: skip
"""The type of each run.json key a reader uses; other keys may hold any JSON."""


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """run.json of a run folder ({} if there is none). CorruptRunInfo, naming the file,
    when it is not a JSON object of finite numbers whose known keys have their types."""
    path = run_dir / RUN_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        data = loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, BadJson) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)[:200]
        raise CorruptRunInfo(f"{path}: not a readable run.json ({why})") from None
    if not isinstance(data, dict):
        raise CorruptRunInfo(f"{path}: not a run.json (a JSON object is needed)")
    for key, hint in RUN_INFO_TYPES.items():
        if key in data and (problem := type_problem(data[key], hint, key)) is not None:
            raise CorruptRunInfo(f"{path}: {problem[:200]}")
    for i, entry in enumerate(data.get("cpu_reference") or []):
        if (problem := type_problem(entry.get("loop_cpu_s"), float, f"cpu_reference[{i}]")):
            raise CorruptRunInfo(f"{path}: {problem}")
    return data


def now_iso() -> str:
    """UTC now, ISO-8601, seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_cpu_reference(info: dict[str, Any], loop_cpu_s: float) -> None:
    """Note the machine's speed now (harness.measure.speed) in run.json's
    ``cpu_reference``: one entry at the start and one at every resume."""
    info.setdefault("cpu_reference", []).append({"at": now_iso(), "loop_cpu_s": loop_cpu_s})


def cpu_references(info: dict[str, Any]) -> list[float]:
    """The loop's CPU seconds at the run's start and resumes, in order ([] before they
    were recorded)."""
    return [float(e["loop_cpu_s"]) for e in info.get("cpu_reference") or []]
