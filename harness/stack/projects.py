"""The dbt project behind a scenario, and what Cosmos's load modes need of it.

A synthetic project is generated once into synthetic_projects/; a user's own is
copied into the run's folder with its warehouse and prepared there
(harness.stack.own_project), never written to: dbt's target/ and logs go to the run's
folder, and the harness's DuckDB profile lives there too.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.generate import generate_project, is_current
from harness.scenarios.model import ProjectSpec
from harness.stack.dagfile import DUCKDB_RETRIES
from harness.stack.own_project import OwnSetup, setup_own
from harness.stack.workspace import dbt_bin
from harness.stack_env import quiet_env

SYNTHETIC_ROOT = Path("synthetic_projects")
LS_OUTPUT_KEYS = (
    "name",
    "unique_id",
    "resource_type",
    "depends_on",
    "original_file_path",
    "tags",
    "config",
    "freshness",
    "fqn",
)


class ProjectError(RuntimeError):
    """A project could not be prepared (dbt parse/ls/build failed); the log says why."""


@dataclass
class PreparedProject:
    """A project ready to be measured, with its artefacts made on first use."""

    spec: ProjectSpec
    path: Path
    name: str
    profile_name: str
    profiles_dir: Path
    """Folder of the profiles.yml that dbt is run with outside Airflow."""
    own_profile: bool
    """True: the project's profiles.yml is used by Cosmos too (no mock profile)."""
    work: Path
    log_dir: Path
    own: OwnSetup | None = None
    """A user's project: the harness's prepared copy of it."""
    _made: dict[str, Path] = field(default_factory=dict)
    setup_s: dict[str, float] = field(default_factory=dict)
    """Seconds each artefact took to make (manifest, ls, built): the estimate prices a
    run's set-up from these (harness.run.estimate), apart from its measurements."""

    def _once(self, name: str, make: Callable[[], Path]) -> Path:
        """The artefact ``name``, made by ``make`` the first time, its seconds kept."""
        if name not in self._made:
            t0 = time.monotonic()
            self._made[name] = make()
            self.setup_s[name] = round(time.monotonic() - t0, 3)
        return self._made[name]

    def adopt(self, name: str, made: Path) -> None:
        """Keep a copy of ``made``, left by a measurement that did what making artefact
        ``name`` does (plain `dbt build`'s warehouse), as that artefact, unless it is
        made already. Its seconds were the measurement's, so set-up keeps none."""
        if name not in self._made and made.exists():
            self._made[name] = Path(shutil.copy2(made, self._file(name)))

    def _file(self, name: str) -> Path:
        """Where artefact ``name``'s warehouse file is kept (made or adopted)."""
        return self.work / f"{name}.duckdb"

    @property
    def target_name(self) -> str:
        """The profile target dbt and Cosmos use."""
        return self.own.target_name if self.own else "dev"

    def profiles_yml(self, shared: bool) -> Path | None:
        """profile = 'project': the harness's copy of the project's profiles.yml (with
        the fields that share DuckDB's file where LOCAL tasks write it at once,
        ``shared``); None: the harness's mapping."""
        if self.own is None or not self.own.profiles:
            return None
        return self.own.profiles[shared] / "profiles.yml"

    def fresh_warehouse(self, dest: Path) -> Path:
        """``dest`` as the prepared warehouse (a copy of it), or absent when there is none."""
        dest.unlink(missing_ok=True)
        source = self.own.warehouse if self.own else None
        if source is not None and source.exists():
            shutil.copy2(source, dest)
        return dest

    def env(self, warehouse: Path, log_dir: Path | None = None) -> dict[str, str]:
        """Environment for a dbt command outside Airflow (dbt's logs in ``log_dir``)."""
        logs = log_dir or self.work / "logs"
        tmp = self.work / "tmp"  # dbt's temporary files stay in the run's folder too
        tmp.mkdir(parents=True, exist_ok=True)
        return quiet_env(
            {"HARNESS_DUCKDB_PATH": str(warehouse), "DBT_LOG_PATH": str(logs), "TMPDIR": str(tmp)}
        )

    def dbt_args(self, target: Path) -> list[str]:
        """--project-dir/--profiles-dir/--target-path so dbt writes nothing into the project."""
        return [
            "--project-dir",
            str(self.path),
            "--profiles-dir",
            str(self.profiles_dir),
            "--target-path",
            str(target),
        ]

    def _dbt(self, what: str, args: list[str], warehouse: Path, stdout: Path | None = None) -> None:
        log = self.log_dir / f"prepare-{self.spec.label.replace('/', '_')}-{what}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as err, stdout.open("w") if stdout else log.open("a") as out:
            proc = subprocess.run(
                [dbt_bin(), *args], env=self.env(warehouse), stdout=out, stderr=err, timeout=3600
            )
        if proc.returncode != 0:
            raise ProjectError(
                f"dbt {args[0]} failed for {self.path} (exit {proc.returncode}); see {log}"
            )

    def manifest(self) -> Path:
        """target/manifest.json from `dbt parse` (LoadMode.DBT_MANIFEST)."""

        def make() -> Path:
            target = self.work / "manifest"
            shutil.rmtree(target, ignore_errors=True)
            self._dbt("parse", ["parse", *self.dbt_args(target)], self.work / "parse.duckdb")
            # The manifest, alone: a partial_parse.msgpack beside it must not warm anything.
            (target / "partial_parse.msgpack").unlink(missing_ok=True)
            return target / "manifest.json"

        return self._once("manifest", make)

    def dbt_ls_file(self) -> Path:
        """`dbt ls --output json` written to a file (LoadMode.DBT_LS_FILE)."""

        def make() -> Path:
            out = self.work / "dbt_ls.json"
            keys = ["--output-keys", *LS_OUTPUT_KEYS]
            args = ["ls", "--output", "json", *keys, "--quiet"]
            args += self.dbt_args(self.work / "ls_target")
            self._dbt("ls", args, self.work / "parse.duckdb", stdout=out)
            return out

        return self._once("ls", make)

    def built_warehouse(self) -> Path:
        """A DuckDB file after a full `dbt build`: what a single task needs upstream."""

        def make() -> Path:
            db = self.fresh_warehouse(self._file("built"))
            self._dbt("build", ["build", *self.dbt_args(self.work / "build_target")], db)
            return db

        return self._once("built", make)


def _read_project_yml(path: Path) -> tuple[str, str]:
    data = yaml.safe_load((path / "dbt_project.yml").read_text()) or {}
    name = str(data.get("name", path.name))
    return name, str(data.get("profile", name))


def harness_profile(profile_name: str, folder: Path) -> Path:
    """A DuckDB profiles.yml whose database file is given by HARNESS_DUCKDB_PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        profile_name: {
            "target": "dev",
            "outputs": {
                "dev": {
                    "type": "duckdb",
                    "path": "{{ env_var('HARNESS_DUCKDB_PATH') }}",
                    "threads": 1,
                    **DUCKDB_RETRIES,
                }
            },
        }
    }
    path = folder / "profiles.yml"
    path.write_text(yaml.safe_dump(profile, sort_keys=True))
    return path


def prepare_project(spec: ProjectSpec, work: Path, log_dir: Path) -> PreparedProject:
    """Generate (synthetic) or locate (own) the project and write its profile."""
    if spec.path is not None:
        path = Path(spec.path)
        if not (path / "dbt_project.yml").is_file():
            raise ProjectError(f"{path} is not a dbt project (no dbt_project.yml)")
    else:
        assert spec.models is not None and spec.shape is not None
        path = (SYNTHETIC_ROOT / spec.label).resolve()
        if not is_current(path, spec.models, spec.shape, spec.seed):
            generate_project(path, models=spec.models, shape=spec.shape, seed=spec.seed)
    name, profile_name = _read_project_yml(path)
    pwork = work / "projects" / spec.label.replace("/", "_").replace(":", "_")
    pwork.mkdir(parents=True, exist_ok=True)
    own_profile = spec.profile == "project"
    profiles_dir = harness_profile(profile_name, pwork / "harness-profile").parent
    if spec.path is None:
        return PreparedProject(spec, path, name, profile_name, profiles_dir, False, pwork, log_dir)
    own = setup_own(path, profile_name, own_profile, spec.prepare, pwork, log_dir, profiles_dir)
    if own_profile:
        profiles_dir = own.profiles[False]
    return PreparedProject(
        spec, own.root, name, profile_name, profiles_dir, own_profile, pwork, log_dir, own
    )
