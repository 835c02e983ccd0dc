"""Run folders claimed atomically: two harnesses never share one.

A new run's folder is made with mkdir, which fails when it exists, so the first
harness wins and the second takes the next free name (or, with an explicit
--run-id, is refused). Every harness that works in a run folder, new or resumed,
holds an exclusive lock on its ``.lock`` file: the kernel drops the lock when
the process dies, however it dies, so a resume of a killed run is free to go on
and two resumes of one run are not.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from harness.errors import UsageError
from harness.paths import check_path_text, check_plain_name

LOCK_FILE = ".lock"
MAX_SUFFIX = 1000


def check_results_dir(results_dir: Path) -> None:
    """--results-dir must be a folder, or not exist yet in a folder that does: the
    harness makes no folder above the one it is given."""
    check_path_text("--results-dir", results_dir)
    if results_dir.exists() and not results_dir.is_dir():
        raise UsageError(f"--results-dir: {results_dir} is not a directory")
    parent = Path(os.path.abspath(results_dir)).parent
    if not parent.exists():
        raise UsageError(f"--results-dir: {parent} does not exist; make it first")
    if not parent.is_dir():
        raise UsageError(f"--results-dir: {parent} is not a directory")


def check_run_id(flag: str, run_id: str, results_dir: Path) -> None:
    """A run id (--run-id, --resume, --rerun-failed) is a plain folder name under the
    results folder: never a path elsewhere, whose files a run would write and remove."""
    check_plain_name(flag, run_id, results_dir)


def claim_new(results_dir: Path, run_id: str, explicit: bool) -> tuple[Path, str]:
    """Make the folder of a new run atomically; returns it and the id taken.

    A default id that another harness has just taken gets a suffix (-2, -3...);
    an explicit --run-id that exists is refused."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--results-dir: cannot create {results_dir}: {exc.strerror}") from None
    for n in range(1, MAX_SUFFIX):
        candidate = run_id if n == 1 else f"{run_id}-{n}"
        root = results_dir / candidate
        try:
            root.mkdir()
        except FileExistsError:
            if explicit:
                raise UsageError(
                    f"--run-id: {root} exists; use --resume {run_id}"
                ) from None
            continue
        except OSError as exc:
            raise UsageError(f"--results-dir: cannot create {root}: {exc.strerror}") from None
        return root, candidate
    raise UsageError(f"--run-id: {run_id}-2 to -{MAX_SUFFIX - 1} all exist")


def lock_run(root: Path) -> IO[str]:
    """Hold the run folder's lock for the life of this process (keep the file open).

    UsageError when another live harness holds it."""
    fh = open(root / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another harness"
        fh.close()
        raise UsageError(f"run {root.name} is in use by {holder}; wait for it to end") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"harness pid {os.getpid()}\n")
    fh.flush()
    return fh
