"""A user's own dbt project: the harness's copy of it, of its warehouse and of its profile,
its ``prepare`` command and its packages. The original is only ever read.

Everything happens once per run in the run's work folder: the project folder is copied
(without target/, logs/ and version-control or virtualenv folders), the DuckDB file its
profile points to comes along (a relative path is resolved against the project folder,
where a user runs dbt from), ``prepare`` runs in the copy, and missing packages are
installed there. Each measurement then starts from a copy of that prepared warehouse.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from harness.stack.dagfile import DUCKDB_SHARED
from harness.stack.workspace import SetupError, dbt_bin
from harness.stack_env import quiet_env

COPY_IGNORE = ("target", "logs", ".git", ".venv", "venv", ".tox", "__pycache__", ".user.yml")
IN_MEMORY = ":memory:"
ENV_PATH = "{{ env_var('HARNESS_DUCKDB_PATH') }}"
PREPARE_TIMEOUT_S = 3600


class PrepareError(SetupError):
    """The user's project cannot be set up (no profile, prepare failed, packages missing):
    the run stops with this one line."""


@dataclass
class OwnSetup:
    """The harness's prepared copy of a user's project."""

    root: Path
    """The copy of the project folder: every dbt and Cosmos command reads this one."""
    warehouse: Path | None
    """The prepared DuckDB file each measurement starts from; None: an empty one (or an
    in-memory profile)."""
    target_name: str = "dev"
    profiles: dict[bool, Path] = field(default_factory=dict)
    """profile = 'project': with connect retries? -> folder of the rewritten profiles.yml."""
    notes: dict[str, Any] = field(default_factory=dict)
    """What the harness did to the project, for run.json."""


def find_profiles_yml(project: Path) -> Path | None:
    """The profiles.yml dbt would read for ``project``: its folder, DBT_PROFILES_DIR, ~/.dbt."""
    dirs = [project, os.environ.get("DBT_PROFILES_DIR"), Path.home() / ".dbt"]
    for folder in dirs:
        if folder and (Path(folder) / "profiles.yml").is_file():
            return Path(folder) / "profiles.yml"
    return None


def read_profile(project: Path, profile_name: str) -> tuple[Path, str, dict[str, Any]] | None:
    """(profiles.yml, target name, the target's output) of the project's own profile."""
    found = find_profiles_yml(project)
    if found is None:
        return None
    try:
        data = yaml.safe_load(found.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PrepareError(f"{found}: malformed YAML: {exc}") from None
    profile = data.get(profile_name)
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise PrepareError(f"{found}: no profile {profile_name!r} with outputs")
    target = str(_render(str(profile.get("target", "dev"))))
    output = profile["outputs"].get(target)
    if not isinstance(output, dict):
        raise PrepareError(f"{found}: profile {profile_name!r} has no output {target!r}")
    return found, target, output


def _render(text: str) -> str:
    # dbt renders profiles with env_var(); nothing else is needed for a path.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    try:
        return env.from_string(text).render()
    except jinja2.TemplateError as exc:
        raise PrepareError(f"cannot render {text!r}: {exc}") from None


def duckdb_file(output: dict[str, Any], project: Path) -> Path | None:
    """The DuckDB file a profile output points to, resolved as dbt run from the project
    folder resolves it; None for another adapter or an in-memory database."""
    if output.get("type") != "duckdb":
        return None
    raw = _render(str(output.get("path", IN_MEMORY)))
    if raw in ("", IN_MEMORY) or raw.startswith(("md:", "motherduck:")):
        return None
    path = Path(raw).expanduser()
    return path if path.is_absolute() else project / path


def copy_project(src: Path, dest: Path) -> None:
    """Copy the project folder, leaving out what dbt writes and what is not the project."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(*COPY_IGNORE))


def own_profiles(output: dict[str, Any], profile_name: str, target: str, work: Path) -> dict:
    """The project's own profile output, written twice into ``work``: as it is, and with
    the fields that let LOCAL tasks running at once share DuckDB's file (DUCKDB_SHARED)
    where the project does not set them; the path always points to the
    measurement's copy of the warehouse (HARNESS_DUCKDB_PATH)."""
    out: dict[bool, Path] = {}
    for shared in (False, True):
        o = dict(output)
        if o.get("type") == "duckdb" and duckdb_file(output, Path(".")) is not None:
            o["path"] = ENV_PATH
        if shared and o.get("type") == "duckdb":
            o = {**DUCKDB_SHARED, **o}  # the project's own fields win
        folder = work / ("profile-shared" if shared else "profile")
        folder.mkdir(parents=True, exist_ok=True)
        doc = {profile_name: {"target": target, "outputs": {target: o}}}
        (folder / "profiles.yml").write_text(yaml.safe_dump(doc, sort_keys=True))
        out[shared] = folder
    return out


def run_prepare(command: str, cwd: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run the scenario's ``prepare`` once in the copy, unmeasured; its output goes to
    ``log``. A failure stops the run (PrepareError)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with log.open("w") as fh:
        fh.write(f"$ {command}\n")
        fh.flush()
        try:
            proc = subprocess.run(
                shlex.split(command), cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                timeout=PREPARE_TIMEOUT_S, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PrepareError(f"prepare {command!r} could not run: {exc}; see {log}") from None
    if proc.returncode != 0:
        raise PrepareError(
            f"prepare {command!r} failed (exit {proc.returncode}): {_last_line(log)}; see {log}"
        )
    return {"command": command, "exit": 0, "seconds": round(time.monotonic() - t0, 2),
            "log": str(log)}  # fmt: skip


def _last_line(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:300] if len(lines) > 1 else "no output"


def listed_packages(project: Path) -> bool:
    """Whether packages.yml or dependencies.yml lists any package (an empty file does not)."""
    for name in ("packages.yml", "dependencies.yml"):
        f = project / name
        if f.is_file():
            data = yaml.safe_load(f.read_text()) or {}
            if isinstance(data, dict) and data.get("packages"):
                return True
    return False


def ensure_packages(root: Path, env: dict[str, str], log: Path) -> str:
    """Packages present (vendored dbt_packages/) or installed once in the copy by `dbt deps`;
    returns what was done. Offline with packages missing: PrepareError."""
    if not listed_packages(root):
        return "none listed"
    data = yaml.safe_load((root / "dbt_project.yml").read_text()) or {}
    installed = root / str(data.get("packages-install-path", "dbt_packages"))
    if installed.is_dir() and any(installed.iterdir()):
        return f"vendored ({installed.name}/)"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        proc = subprocess.run(
            [dbt_bin(), "deps", "--project-dir", str(root)], cwd=root, env=env, stdout=fh,
            stderr=subprocess.STDOUT, timeout=600, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        raise PrepareError(
            f"{root.name}: packages.yml lists packages, {installed.name}/ is missing and "
            f"`dbt deps` failed (offline?): run `dbt deps` in the project first; see {log}"
        )
    return "installed by dbt deps"


def setup_own(
    src: Path, profile_name: str, own_profile: bool, prepare: str | None, work: Path, logs: Path,
    harness_profiles: Path | None,
) -> OwnSetup:  # fmt: skip
    """Copy, profile, prepare and packages of a user's project, in ``work``."""
    found = read_profile(src, profile_name)
    if own_profile and found is None:
        raise PrepareError(f"{src}: profile = 'project' but dbt finds no profiles.yml for it")
    root = work / "project"
    copy_project(src, root)
    setup = OwnSetup(root, work / "source.duckdb", notes={"original": str(src), "copy": str(root)})
    if found is not None:
        yml, target, output = found
        db = duckdb_file(output, src)
        if db is not None and db.is_relative_to(src):
            setup.warehouse = root / db.relative_to(src)
        elif db is not None:
            setup.warehouse = work / "warehouse" / db.name
            setup.warehouse.parent.mkdir(exist_ok=True)
            if db.exists():
                shutil.copy2(db, setup.warehouse)
        elif output.get("type") == "duckdb":
            setup.warehouse = None  # in memory: nothing to copy, nothing persists
        setup.notes["warehouse"] = {"original": str(db) if db else IN_MEMORY,
                                    "copy": str(setup.warehouse)}  # fmt: skip
        if own_profile:
            setup.target_name = target
            setup.profiles = own_profiles(output, profile_name, target, work)
            setup.notes["profile"] = {
                "from": str(yml), "target": target,
                "path": "each measurement's copy of the warehouse",
                "where_local_tasks_run_at_once": {k: output.get(k, v)
                                                  for k, v in DUCKDB_SHARED.items()},
            }  # fmt: skip
    profiles = setup.profiles.get(False) if own_profile else harness_profiles
    env = prepare_env(setup, profiles, work)
    setup.notes["packages"] = ensure_packages(root, env, logs / f"deps-{work.name}.log")
    if prepare:
        setup.notes["prepare"] = run_prepare(prepare, root, env, logs / f"prepare-{work.name}.log")
    return setup


def prepare_env(setup: OwnSetup, profiles_dir: Path | None, work: Path) -> dict[str, str]:
    """Environment of `prepare` and `dbt deps`: the harness's profile, the copy's warehouse."""
    # dbt deps unpacks packages under TMPDIR (dbt-downloads-*): keep it in the run's folder.
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    extra = {
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_TARGET_PATH": str(work / "prepare_target"),
        "TMPDIR": str(tmp),
    }
    if setup.warehouse is not None:
        extra["HARNESS_DUCKDB_PATH"] = str(setup.warehouse)
    if profiles_dir is not None:
        extra["DBT_PROFILES_DIR"] = str(profiles_dir)
    return quiet_env(extra)
