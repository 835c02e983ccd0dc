"""Airflow services a DAG run needs (docs/ARCHITECTURE.md, trap 5): the execution API server,
for the LocalExecutor's task processes, and the triggerer, for WATCHER's
deferrable sensors. Both listen on 127.0.0.1 only and are stopped with their
whole process tree; each in a process group of its own that the kernel kills
with the harness (harness.procs.supervise). Their CPU is the run's own, not load on it
(harness.measure.machine_load.TREES)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import psutil

from harness.measure.machine_load import TREES, process_tree_cpu
from harness.procs.supervise import die_with_parent
from harness.stack.workspace import airflow_bin


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def end_tree(root: psutil.Process, grace_s: float = 10.0) -> None:
    """SIGTERM a process and all its descendants, then SIGKILL what is left."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)


def stop_tree(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """End a service started in its own session: its process group and its tree."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(psutil.NoSuchProcess):
        end_tree(psutil.Process(proc.pid), grace_s)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def api_server_cmd(port: int, env: Mapping[str, str] | None = None) -> list[str]:
    """The execution API server on 127.0.0.1:port (of the stack ``env`` runs)."""
    host = ["-H", "127.0.0.1", "-p", str(port)]
    return [airflow_bin(env), "api-server", "--apps", "execution", *host]


def triggerer_cmd(env: Mapping[str, str] | None = None) -> list[str]:
    """The triggerer, for deferrable sensors (WATCHER's), of the stack ``env`` runs."""
    # Without --skip-serve-logs it starts a log server on every interface ([::]:8794);
    # the harness's servers stay on loopback.
    return [airflow_bin(env), "triggerer", "--skip-serve-logs"]


def wait_healthy(url: str, exited: Callable[[], bool], timeout_s: float) -> None:
    """Wait until ``url`` answers 200; RuntimeError if the server exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if exited():
            raise RuntimeError(f"the server of {url} exited before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"airflow api-server not healthy at {url} after {timeout_s:.0f} s")


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # Its own session, killed with the harness; its CPU registered as the run's own.
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    TREES.add(proc, process_tree_cpu(proc.pid))
    return proc


@contextlib.contextmanager
def airflow_services(
    env: dict[str, str], port: int, log_dir: Path, triggerer: bool = True
) -> Iterator[None]:
    """Run the execution API server (and the triggerer) for the duration of the block."""
    log_dir.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    try:
        api = _start(api_server_cmd(port, env), env, log_dir / "api-server.log")
        started.append(api)
        if triggerer:
            started.append(_start(triggerer_cmd(env), env, log_dir / "triggerer.log"))
        health = f"http://127.0.0.1:{port}/execution/health"
        wait_healthy(health, lambda: api.poll() is not None, timeout_s=120)
        yield
    finally:
        for proc in reversed(started):
            TREES.end(proc)
            stop_tree(proc)
