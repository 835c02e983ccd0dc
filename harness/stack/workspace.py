"""Where a run keeps its files, and the environment each measured process gets.

Everything a run writes stays under results/<run-id>/ (or synthetic_projects/):
each measurement has its own AIRFLOW_HOME with a copy of a metadata database
migrated once per run (docs/ARCHITECTURE.md, trap 13), its own Cosmos cache_dir and TMPDIR
(Cosmos copies the project to a temp dir per task, trap 14), and a DuckDB file
outside the dbt project (trap 7).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from harness.stack.dagfile import CONN_ID
from harness.stack_env import AXIS_DEFAULTS, axis_env, quiet_env

BIN = Path(sys.executable).parent
JWT_SECRET = "cosmos-memory-harness-local-only-secret"
TASK_TOKEN_S = 7 * 24 * 3600
"""The life of a task's execution-API token (trap 22): longer than any run's timeout."""


def service_logs(log: Path) -> Path:
    """The folder of the logs of a measurement's services, beside its own log."""
    return log.with_name(f"{log.stem}.services")


def log_size(log: Path) -> int:
    """Where what a run appends to ``log`` will start (0 if there is no log yet)."""
    return log.stat().st_size if log.exists() else 0


def log_since(log: Path, start: int) -> bytes:
    """What was appended to ``log`` past ``start`` (a log several attempts or probes
    share); empty if it cannot be read."""
    try:
        with log.open("rb") as fh:
            fh.seek(start)
            return fh.read()
    except OSError:
        return b""


def airflow_bin(env: Mapping[str, str] | None = None) -> str:
    """The airflow executable ``env`` runs: the first on its PATH, where a measurement's
    environment puts its stack's bin (harness.run.context.Context.env: another Cosmos
    release's, axis cosmos_version); the harness's own without ``env``."""
    return _stack_exe("airflow", env)


def dbt_bin(env: Mapping[str, str] | None = None) -> str:
    """The dbt executable ``env`` runs (as airflow_bin); the harness's own without it."""
    return _stack_exe("dbt", env)


def _stack_exe(name: str, env: Mapping[str, str] | None) -> str:
    if env is not None:
        found = shutil.which(name, path=env.get("PATH"))
        if found is not None:
            return found
    return str(BIN / name)


class SetupError(RuntimeError):
    """The run's own set-up failed (not one scenario): nothing can be measured."""


@dataclass(frozen=True)
class RunDir:
    """The folder of one run."""

    root: Path

    @property
    def work(self) -> Path:
        """Scratch space, removed at the end of the run."""
        return self.root / "work"

    @property
    def logs(self) -> Path:
        """Output of every measured command."""
        return self.root / "logs"

    def fresh_log(self, stem: str) -> Path:
        """A log path under ``logs`` that no earlier attempt used: ``--resume`` and
        ``--rerun-failed`` number their measurements from 0 again, and an appended log
        would mix two runs (a Celery worker's task count is read from its log)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log, attempt = self.logs / f"{stem}.log", 1
        while log.exists() or service_logs(log).exists():
            attempt += 1
            log = self.logs / f"{stem}-a{attempt}.log"
        return log

    def probe_log(self, scenario_id: str, rep: int) -> Path:
        """Where a bisection keeps each probe's outcome as it ends (min_worker, pod_size):
        in the run folder, not ``work``, so a resumed run continues the bisection. The
        runner removes it once the repetition's record is written."""
        key = hashlib.sha1(scenario_id.encode()).hexdigest()[:16]
        return self.root / "probes" / f"{key}-r{rep}.jsonl"

    @property
    def template_home(self) -> Path:
        """AIRFLOW_HOME with a freshly migrated database, copied per measurement."""
        return self.work / "airflow-template"


@dataclass(frozen=True)
class Workspace:
    """The private folders of one measurement."""

    root: Path

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dags(self) -> Path:
        return self.airflow_home / "dags"

    @property
    def db(self) -> Path:
        return self.airflow_home / "airflow.db"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cosmos_cache"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def target(self) -> Path:
        return self.root / "dbt_target"


def airflow_env(
    home: Path,
    *,
    tmp: Path,
    cache_dir: Path | None = None,
    warehouse: Path | None = None,
    api_port: int | None = None,
    axes: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of every Airflow process of a measurement.

    ``axes``: the variables of the scenario's axes (stack_env.axis_env); None: every
    axis at its default. Cosmos reads its settings when it is imported (trap 8), so they
    go in the environment before the process starts, never into a running one.
    """
    extra = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The Celery deployment sets its own (axis executor, harness.stack.celery).
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
        # `dags test` hands every ready task to the executor at once, each with a token
        # made then; one that waits for a slot longer than the token's life (600 s by
        # default) fails unrun (trap 22). Airflow 3.3 gives the workload's token the life
        # of [scheduler] task_queued_timeout; the task's own tokens, once it runs, that of
        # [execution_api] jwt_expiration_time.
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(TASK_TOKEN_S),
        "AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME": str(TASK_TOKEN_S),
        **(axes if axes is not None else axis_env(AXIS_DEFAULTS, None)),
        "TMPDIR": str(tmp),
        "DBT_LOG_PATH": str(tmp / "dbt_logs"),
    }
    if cache_dir is not None:
        extra["AIRFLOW__COSMOS__CACHE_DIR"] = str(cache_dir)
    if warehouse is not None:
        extra["HARNESS_DUCKDB_PATH"] = str(warehouse)
        extra[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "duckdb", "host": str(warehouse)}
        )
    if api_port is not None:
        extra["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{api_port}/execution/"
    return quiet_env(extra)


SHARED_TEMPLATE_ENV = "HARNESS_SHARED_AIRFLOW_TEMPLATE"
"""A folder where runs that share one migrated metadata database keep it (the test suite:
one `airflow db migrate` per test session instead of one per harness run, 4-6 s each).
Unset, as in a user's run: each run migrates its own."""


def make_template_home(run_dir: RunDir) -> Path:
    """Migrate an Airflow metadata database once for the whole run (or copy the one
    migrated once for every run that shares SHARED_TEMPLATE_ENV's folder)."""
    home = run_dir.template_home
    if (home / "airflow.db").exists():
        return home
    log = run_dir.logs / "airflow-db-migrate.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    (run_dir.work / "tmp").mkdir(parents=True, exist_ok=True)
    shared = os.environ.get(SHARED_TEMPLATE_ENV)
    if shared:
        source = shared_template(Path(shared))
        copy_template(source, home)
        log.write_text(f"copied from {source}, migrated once for the runs that share it "
                       f"({SHARED_TEMPLATE_ENV})\n")  # fmt: skip
        return home
    migrate_home(home, run_dir.work / "tmp", log)
    return home


def migrate_home(home: Path, tmp: Path, log: Path) -> None:
    """`airflow db migrate` into ``home`` with the harness's environment, its output in
    ``log``; SetupError if it fails."""
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        proc = subprocess.run(
            [airflow_bin(), "db", "migrate"],
            env=airflow_env(home, tmp=tmp),
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    if proc.returncode != 0:
        raise SetupError(f"airflow db migrate exited {proc.returncode}; see {log}")


def shared_template(folder: Path) -> Path:
    """The migrated AIRFLOW_HOME kept in ``folder`` for this Airflow release, migrated by
    the first run that asks (one at a time: runs in parallel wait on a lock)."""
    home = folder / f"airflow-{version('apache-airflow-core')}"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (home / "airflow.db").exists():
            # Migrated aside, in a folder of this process's own, and renamed: a run killed
            # mid-way leaves no half-made template, and its migration, if it outlives the
            # run (and so the lock), writes into no folder another run migrates into.
            part = folder / f"{home.name}.part-{os.getpid()}"
            migrate_home(part, folder / "tmp", folder / f"{home.name}-migrate.log")
            _repoint_cfgs(part, part, home)
            part.rename(home)
    return home


def copy_template(source: Path, home: Path) -> None:
    """``home`` as a migration there would leave it: the database (it holds no path) and
    Airflow's generated config with ``source``'s paths pointed at ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "logs").mkdir(exist_ok=True)
    shutil.copy2(source / "airflow.db", home / "airflow.db")
    _repoint_cfgs(source, home, home)


def _repoint_cfgs(source: Path, dest: Path, home: Path) -> None:
    """``source``'s config files written into ``dest`` with ``source`` named ``home``:
    airflow.cfg, written by the migration, names its AIRFLOW_HOME in five paths (the rest
    of it differs between two migrations only in its random keys)."""
    for cfg in source.glob("*.cfg"):
        text = cfg.read_text(encoding="utf-8")
        (dest / cfg.name).write_text(text.replace(str(source), str(home)), "utf-8")


def new_workspace(run_dir: RunDir, name: str) -> Workspace:
    """A fresh private folder with a copy of the migrated database."""
    ws = Workspace(run_dir.work / name)
    if ws.root.exists():
        shutil.rmtree(ws.root)
    ws.dags.mkdir(parents=True)
    ws.tmp.mkdir()
    ws.cache_dir.mkdir()
    shutil.copy2(run_dir.template_home / "airflow.db", ws.db)
    for cfg in run_dir.template_home.glob("*.cfg"):
        shutil.copy2(cfg, ws.airflow_home / cfg.name)
    return ws


def reset_cosmos_cache(ws: Workspace) -> None:
    """Make the next parse a cold one: no dbt ls cache Variable, no cached partial parse."""
    shutil.rmtree(ws.cache_dir, ignore_errors=True)
    ws.cache_dir.mkdir()
    reset_dbt_ls_cache(ws)


def reset_dbt_ls_cache(ws: Workspace) -> None:
    """Forget the dbt ls cache (the Variables cosmos_cache__*), keep the cache_dir."""
    with sqlite3.connect(ws.db) as conn:
        conn.execute("DELETE FROM variable WHERE key LIKE 'cosmos_cache__%'")


def dbt_ls_cache_rows(ws: Workspace) -> list[dict[str, object]]:
    """The dbt ls cache Variables (cosmos_cache__*) of the measurement's database, as
    rows without their ids, for put_dbt_ls_cache_rows into another's."""
    with sqlite3.connect(ws.db) as conn:
        cur = conn.execute("SELECT * FROM variable WHERE key LIKE 'cosmos_cache__%'")
        names = [d[0] for d in cur.description]
        return [{k: v for k, v in zip(names, row, strict=True) if k != "id"} for row in cur]


def put_dbt_ls_cache_rows(ws: Workspace, rows: list[dict[str, object]]) -> None:
    """Write dbt ls cache Variables (dbt_ls_cache_rows of another workspace) in place of
    this one's."""
    reset_dbt_ls_cache(ws)
    with sqlite3.connect(ws.db) as conn:
        for row in rows:
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT INTO variable ({cols}) VALUES ({marks})", tuple(row.values()))
