"""Airflow services a DAG run needs (docs/ARCHITECTURE.md, trap 5): the execution API server,
for the LocalExecutor's task processes, and the triggerer, for WATCHER's
deferrable sensors. Both listen on 127.0.0.1 only and are stopped with their
whole process tree; each in a process group of its own that the kernel kills
with the harness (harness.run.supervise)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

from harness.run.supervise import die_with_parent
from harness.run.workspace import airflow_bin


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


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow api-server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"airflow api-server not healthy at {url} after {timeout_s:.0f} s")


@contextlib.contextmanager
def airflow_services(
    env: dict[str, str], port: int, log_dir: Path, triggerer: bool = True
) -> Iterator[None]:
    """Run the execution API server (and the triggerer) for the duration of the block."""
    log_dir.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    try:
        with (log_dir / "api-server.log").open("wb") as api_log:
            api = subprocess.Popen(
                [
                    airflow_bin(),
                    "api-server",
                    "--apps",
                    "execution",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(port),
                ],
                env=env,
                stdout=api_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        started.append(api)
        if triggerer:
            with (log_dir / "triggerer.log").open("wb") as trig_log:
                started.append(
                    subprocess.Popen(
                        # Without --skip-serve-logs it starts a log server on every
                        # interface ([::]:8794); the harness's servers stay on loopback.
                        [airflow_bin(), "triggerer", "--skip-serve-logs"],
                        env=env,
                        stdout=trig_log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=die_with_parent,
                    )
                )
        _wait_healthy(f"http://127.0.0.1:{port}/execution/health", api, timeout_s=120)
        yield
    finally:
        for proc in reversed(started):
            stop_tree(proc)
