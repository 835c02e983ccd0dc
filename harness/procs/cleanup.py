"""Ending what a dead harness left: its processes, its cgroups, its work folders.

Every process a harness run starts (services, measured commands, their children)
inherits the environment variable MARK_VAR, set to the harness's pid and start
time. A mark whose harness is no longer alive belongs to an orphan: the reaper
(harness.procs.supervise) ends them the moment the harness dies, and the next run
ends whatever is still there. Processes are found by this mark only, never by
their name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import psutil

from harness.errors import UsageError
from harness.measure import cgroupfs
from harness.store.runinfo import RUN_FILE, read_run_info, write_run_info

MARK_VAR = "HARNESS_OWNER"


def mark_of(pid: int) -> str:
    """The mark of a harness process: pid and start time (a reused pid differs)."""
    return f"{pid}:{psutil.Process(pid).create_time():.2f}"


def install_mark() -> str:
    """Put this process's mark in its environment, so every child inherits it."""
    mark = mark_of(os.getpid())
    os.environ[MARK_VAR] = mark
    return mark


def owner_alive(mark: str) -> bool:
    """Whether the harness that set ``mark`` still runs."""
    pid_text, _, _ = mark.partition(":")
    try:
        return mark_of(int(pid_text)) == mark
    except (ValueError, psutil.Error):
        return False


def marked_processes(mark: str | None = None) -> list[psutil.Process]:
    """Processes carrying ``mark`` (None: any mark whose harness is dead)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.pid == os.getpid():
                continue
            value = proc.environ().get(MARK_VAR)
            if value is None or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if value == mark or (mark is None and not owner_alive(value)):
                found.append(proc)
    return found


def end_processes(procs: list[psutil.Process]) -> int:
    """SIGKILL them (nobody is left to end them gently); how many there were."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=5)
    return len(procs)


def cgroup_parents() -> list[Path]:
    """Where the measure backends make their cgroups (v2 root, v1 memory and cpuacct)."""
    found = {cgroupfs.v2_mount(), cgroupfs.v1_mount("memory"), cgroupfs.v1_mount("cpuacct")}
    return [p for p in found if p is not None]


def end_stale_cgroups() -> int:
    """Kill and remove every harness cgroup whose owner is dead; how many."""
    return sum(len(cgroupfs.clean_stale(p)) for p in cgroup_parents())


def close_dead_runs(results_dir: Path) -> list[str]:
    """Runs left "running" by a dead harness: remove their work folder, mark them killed."""
    closed = []
    with contextlib.suppress(OSError):
        for run_json in results_dir.glob(f"*/{RUN_FILE}"):
            root = run_json.parent
            with contextlib.suppress(OSError, ValueError, UsageError):
                info = read_run_info(root)
                owner = info.owner if info else None
                if info is None or info.state != "running" or not owner or owner_alive(owner):
                    continue
                shutil.rmtree(root / "work", ignore_errors=True)
                info.state = "killed"
                write_run_info(root, info)
                closed.append(root.name)
    return closed


def end_orphans(results_dir: Path | None = None) -> dict[str, int]:
    """Everything dead harnesses left: processes, cgroups, and (under ``results_dir``)
    work folders. Returns how many of each were found."""
    counts = {
        "processes": end_processes(marked_processes(None)),
        "cgroups": end_stale_cgroups(),
    }
    if results_dir is not None:
        counts["runs"] = len(close_dead_runs(results_dir))
    return counts
