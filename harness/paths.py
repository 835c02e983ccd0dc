"""Checks of the names and paths the harness is given to write to, made before any work.

Shared by every step (like harness.errors): a run id is a plain name under its results
folder; an output's parent folder must exist (the harness creates no folder above what
it writes); no name is over the file system's limit; an output never lands inside a run
it reads. Each check raises UsageError naming the flag.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from harness.errors import UsageError

DEFAULT_NAME_MAX = 255
"""Bytes in one file name where the file system does not say (Linux's usual limit)."""
PATH_MAX = 4096
"""Bytes in a whole path (Linux)."""


def name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system of ``folder`` (or of its nearest
    existing ancestor) accepts."""
    here = Path(os.path.abspath(folder))
    for candidate in (here, *here.parents):
        if candidate.is_dir():
            try:
                return int(os.pathconf(candidate, "PC_NAME_MAX"))
            except (OSError, ValueError):
                return DEFAULT_NAME_MAX
    return DEFAULT_NAME_MAX


def check_plain_name(flag: str, name: str, folder: Path) -> None:
    """``name`` must be one folder name inside ``folder``: not empty, no path separator,
    not '.' or '..', no NUL or line break, within the file system's name limit."""
    if name in ("", ".", "..") or "/" in name or os.sep in name:
        raise UsageError(f"{flag}: {name!r} is not a plain name (a folder under {folder})")
    if any(c in name for c in "\0\n\r"):
        raise UsageError(f"{flag}: {name!r} holds a NUL byte or a line break")
    limit, size = name_max(folder), len(os.fsencode(name))
    if size > limit:
        raise UsageError(f"{flag}: the name is {size} bytes, over the file system's limit "
                         f"of {limit}")  # fmt: skip


def check_path_text(flag: str, path: Path) -> None:
    """No NUL byte, no name over the file system's limit, the whole within PATH_MAX."""
    text = str(path)
    if "\0" in text:
        raise UsageError(f"{flag}: the path holds a NUL byte")
    size = len(os.fsencode(os.path.abspath(text)))
    if size > PATH_MAX:
        raise UsageError(f"{flag}: the path is {size} bytes, over the limit of {PATH_MAX}")
    limit = name_max(path.parent)
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise UsageError(
                f"{flag}: a name in {_short(text)} is {len(os.fsencode(part))} bytes, over "
                f"the file system's limit of {limit}"
            )


def check_output(flag: str, path: Path, *, folder: bool) -> None:
    """An output (a folder to make or fill, or a file to write): a sane path whose parent
    folder exists; a folder output not a file, a file output not a folder."""
    check_path_text(flag, path)
    parent = Path(os.path.abspath(path)).parent
    if not parent.exists():
        raise UsageError(f"{flag}: {parent} does not exist; make it first")
    if not parent.is_dir():
        raise UsageError(f"{flag}: {parent} is not a directory")
    if folder and path.exists() and not path.is_dir():
        raise UsageError(f"{flag}: {path} exists and is not a directory")
    if not folder and path.is_dir():
        raise UsageError(f"{flag}: {path} is a directory; name a file")


def check_not_inside(flag: str, out: Path, runs: Iterable[Path]) -> None:
    """``out`` must not be one of ``runs`` (folders the command reads) nor inside one."""
    target = Path(os.path.realpath(out))
    for run in runs:
        source = Path(os.path.realpath(run))
        if target == source or source in target.parents:
            raise UsageError(f"{flag}: {out} is inside the run {run}, which this command "
                             "reads; write elsewhere")  # fmt: skip


RUN_FILES = ("results.jsonl", "run.json", "scenario.toml")
"""A run folder's own data, which no output may replace (a report beside them is fine)."""


def check_not_a_run_file(flag: str, out: Path, runs: Iterable[Path]) -> None:
    """A file output may go beside a run's files (the nightly job writes its export into
    the new run) but must not replace one of them nor go below the run's subfolders."""
    target = Path(os.path.realpath(out))
    for run in runs:
        source = Path(os.path.realpath(run))
        if source in target.parents and (target.parent != source or target.name in RUN_FILES):
            raise UsageError(f"{flag}: {out} would replace part of the run {run}, which this "
                             "command reads; write elsewhere")  # fmt: skip


def _short(text: str, keep: int = 60) -> str:
    """A long path cut to its start and end, for a message."""
    return text if len(text) <= 2 * keep else f"{text[:keep]}...{text[-keep:]}"


KERNEL_FILE_SYSTEMS = (Path("/proc"), Path("/sys"))
"""Where a file opens for writing and the write fails (as root too): not an output."""


def check_writable_file(flag: str, path: Path) -> None:
    """A file output that can be written, checked before the work whose result it keeps
    (harness measure -o): a regular file (or /dev/null) opened for writing without being
    truncated, or a new one made and removed again; nothing is left or changed."""
    check_output(flag, path, folder=False)
    real = Path(os.path.realpath(path))
    for kernel in KERNEL_FILE_SYSTEMS:
        if real == kernel or kernel in real.parents:
            raise UsageError(f"{flag}: {path} is in {kernel}, a kernel file system; name a file")
    if real.exists() and not real.is_file() and str(real) != os.devnull:
        raise UsageError(f"{flag}: {path} is not a regular file")
    new = not real.exists()
    try:
        fd = os.open(real, os.O_WRONLY | (os.O_CREAT | os.O_EXCL if new else os.O_APPEND), 0o644)
    except OSError as exc:
        link = f" (a link to {os.readlink(path)})" if path.is_symlink() else ""
        raise UsageError(f"{flag}: cannot write {path}{link}: {exc.strerror}") from None
    os.close(fd)
    if new:
        real.unlink()
