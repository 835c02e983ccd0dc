"""What dbt itself says it did: partial parse used or refused (and why), and the time
of its own parse step, read from the debug lines of its dbt.log.

dbt writes every invocation to ``$DBT_LOG_PATH/dbt.log`` at debug level, even when
its console shows only info lines. An invocation starts with a ``=====`` header;
its manifest load logs one of:

- ``Partial parsing enabled: 0 files deleted, 0 files added, 1 files changed.``
  (used; then one ``Partial parsing: updated file: ...`` per re-parsed file);
- ``Unable to do partial parsing because <reason>`` (refused: saved manifest not
  found, profile has changed, ...; also after "enabled" when the partial parse
  failed and dbt switched to a full one);
- ``Partial parsing not enabled`` (turned off).

A dbt run with ``--log-format json`` (Cosmos's WATCHER producer) writes the same
messages as JSON lines, one invocation per ``invocation_id``.

The tasks of a DAG run at concurrency above 1 write one dbt.log at once: their text
lines interleave and do not say whose they are, so the counts are kept per line
(exact however the lines mix) and the parse time, whose start and end lines can no
longer be paired, is left unknown. JSON lines carry their invocation's id.

The parse step runs from ``Registered adapter`` (the manifest load starts right
after) to ``Wrote artifact WritableManifest`` or, where dbt writes none, ``Found N
models``. The lines carry the time of day only: a step over midnight wraps.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG_NAME = "dbt.log"


def _rotation(path: Path) -> int | None:
    """0 for dbt.log, N for its rotated dbt.log.N, None for any other file."""
    suffix = path.name[len(LOG_NAME):]
    if suffix == "":
        return 0
    return int(suffix[1:]) if suffix[:1] == "." and suffix[1:].isdigit() else None

_LINE = re.compile(
    r"^(?:\x1b\[\d+m)?(\d\d):(\d\d):(\d\d(?:\.\d+)?) \[\s*\w+\s*\] \[[^\]]*\]: (.*)$"
)
_TS = re.compile(r"T(\d\d):(\d\d):(\d\d(?:\.\d+)?)")
_HEADER = re.compile(r"^=+ [\d:.]+ \| [0-9a-f-]+ =+$")
_ENABLED = re.compile(
    r"Partial parsing enabled: (\d+) files deleted, (\d+) files added, (\d+) files changed"
)
_UPDATED = re.compile(r"Partial parsing: (?:updated|added|deleted) file: (\S+)")
_REFUSED = re.compile(r"Unable to do partial parsing because (.*?)(?:\. Starting full parse\.)?$")
_ARGS_COMMAND = re.compile(r"'invocation_command': '([^']*)'")
_DONE = re.compile(r"Command `([^`]+)` (?:succeeded|failed)")
_PARSE_END = ("Wrote artifact WritableManifest", "Found ")
_THREADS = re.compile(r"^Concurrency: (\d+) threads")


@dataclass
class Invocation:
    """One dbt invocation as its log tells it.

    Several dbt processes writing one dbt.log (the tasks of a DAG run at concurrency
    above 1) interleave their lines, and text lines do not say whose they are: a line
    is given to the invocation whose header came last. Its manifest loads and ends are
    kept as lists, so that the counts over a stream stay exact whoever a line is given
    to (``evidence``); only the pairing of a parse step's start and end is lost, and
    ``overlapped`` says so."""

    done: list[str] = field(default_factory=list)
    """dbt's own name of the command, from its end line ("Command `cli run` succeeded")."""
    args_command: str | None = None
    """The invocation_command of its args line: under dbtRunner the host process's argv."""
    loads: list[tuple[bool, str | None]] = field(default_factory=list)
    """Each manifest load: (partially parsed, dbt's words when it did not)."""
    files: dict[str, int] | None = None
    """deleted, added, changed: the files a partial parse re-read."""
    reparsed: list[str] = field(default_factory=list)
    """The files a partial parse re-parsed, as dbt names them."""
    parse_s: float | None = None
    threads: list[int] = field(default_factory=list)
    """dbt's "Concurrency: N threads" line: the threads it ran nodes with."""
    overlapped: bool = False
    """Another invocation's header came before this one's end: its lines may be mixed
    with another's (or it was killed)."""
    _start: float | None = None

    @property
    def command(self) -> str | None:
        """Its command: dbt's name from the end line, else the args line's."""
        return self.done[0] if self.done else self.args_command

    @property
    def partial_parse_used(self) -> bool | None:
        """True: dbt partially parsed; False: it refused or was told not to; None: no
        manifest load logged (the invocation failed before it)."""
        return self.loads[-1][0] if self.loads else None

    @property
    def reason(self) -> str | None:
        """dbt's words when it did not partially parse."""
        return self.loads[-1][1] if self.loads else None


def _seconds(m: re.Match[str]) -> float:
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def _elapsed(start: float, end: float) -> float:
    return round(end - start + (86400 if end < start else 0), 3)


def _refused(inv: Invocation, reason: str) -> None:
    # "Unable to do partial parsing because an error occurred" follows "enabled" in the
    # same load: that load parsed in full after all.
    if reason.startswith("an error occurred") and inv.loads and inv.loads[-1][0]:
        inv.loads[-1] = (False, reason)
    else:
        inv.loads.append((False, reason))


def _read_line(inv: Invocation, t: float, msg: str) -> None:
    if msg.startswith("Registered adapter") or (inv._start is None and msg.startswith("checksum:")):
        inv._start = t
    elif (m := _ENABLED.search(msg)) is not None:
        inv.loads.append((True, None))
        inv.files = {"deleted": int(m[1]), "added": int(m[2]), "changed": int(m[3])}
    elif (m := _UPDATED.search(msg)) is not None:
        inv.reparsed.append(m[1])
    elif (m := _REFUSED.search(msg)) is not None:
        _refused(inv, m[1])
    elif msg.startswith("Partial parsing not enabled"):
        inv.loads.append((False, "partial parsing not enabled"))
    elif (m := _DONE.search(msg)) is not None:
        inv.done.append(m[1])
    elif (m := _THREADS.match(msg)) is not None:
        inv.threads.append(int(m[1]))
    elif inv.args_command is None and (m := _ARGS_COMMAND.search(msg)) is not None:
        inv.args_command = m[1]
    elif msg.startswith(_PARSE_END) and inv._start is not None and inv.parse_s is None:
        inv.parse_s = _elapsed(inv._start, t)


def _json_line(line: str) -> tuple[str, float, str] | None:
    """(invocation id, seconds of the day, message) of a JSON log line."""
    try:
        info = json.loads(line)["info"]
        m = _TS.search(info["ts"])
        return (info["invocation_id"], _seconds(m), info["msg"]) if m else None
    except (ValueError, KeyError, TypeError):
        return None


def read_invocations(text: str) -> list[Invocation]:
    """Every dbt invocation in ``text`` (a dbt.log or part of one), in order."""
    out: list[Invocation] = []
    by_id: dict[str, Invocation] = {}  # JSON lines name their invocation
    for raw in text.splitlines():
        line = raw.strip()
        if _HEADER.match(line):
            if out and not out[-1].done:
                out[-1].overlapped = True  # begun and not ended: the next one's lines mix in
            out.append(Invocation(overlapped=bool(out) and out[-1].overlapped))
            continue
        if line.startswith("{"):
            parsed = _json_line(line)
            if parsed is None:
                continue
            inv_id, t, msg = parsed
            if inv_id not in by_id:
                by_id[inv_id] = Invocation()
                out.append(by_id[inv_id])
            _read_line(by_id[inv_id], t, msg)
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        if not out:
            out.append(Invocation())  # a slice that began inside an invocation
        _read_line(out[-1], _seconds(m), m[4])
    return out


def evidence(invocations: list[Invocation]) -> dict[str, Any] | None:
    """The record's ``figures.dbt`` (harness.registry.figures.DbtEvidence) from the
    invocations of one measured command; None when it ran no dbt.

    Counted over all the invocations' lines, so exact when their lines interleave;
    the parse time is then unknown (None): its starts and ends cannot be paired."""
    if not invocations:
        return None
    loads = [load for i in invocations for load in i.loads]
    used = sum(1 for ok, _ in loads if ok)
    verdict: bool | None = None  # mixed (some used, some refused): see partial_parse_runs
    if loads and used in (0, len(loads)):
        verdict = used == len(loads)
    reasons = sorted({why for ok, why in loads if not ok and why})
    mixed = any(i.overlapped for i in invocations)
    times = [i.parse_s for i in invocations if i.parse_s is not None]
    if mixed:  # whose end line is missing cannot be told
        commands = [c for i in invocations for c in i.done]
        commands += ["dbt (command not logged)"] * max(0, len(invocations) - len(commands))
    else:
        commands = [
            c for i in invocations
            for c in (i.done or [i.args_command or "dbt (command not logged)"])
        ]  # fmt: skip
    return {
        "commands": commands,
        "partial_parse_used": verdict,
        "partial_parse_runs": [used, len(loads)],
        "reason": "; ".join(reasons) or None,
        "parse_s": round(sum(times), 3) if times and not mixed else None,
        "reparsed": sorted({f for i in invocations for f in i.reparsed}),
        "threads": sorted({n for i in invocations for n in i.threads}),
    }


class LogCursor:
    """The dbt.log files under a folder, read from where they stood when it was made,
    so that only the measured command's invocations are counted.

    dbt rotates dbt.log at 10 MB (dbt.log.1 ... dbt.log.5): a 5000-model `dbt build`
    writes more than that. A file is known by its inode, which a rename keeps, so the
    part of a rotated file written before the cursor is still skipped and the rest read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.offsets = {p.stat().st_ino: p.stat().st_size for p in self._logs()}

    def _logs(self) -> list[Path]:
        if not self.folder.exists():
            return []
        # oldest first: dbt.log.5 ... dbt.log.1, then dbt.log
        found = [p for p in self.folder.rglob(f"{LOG_NAME}*") if _rotation(p) is not None]
        return sorted(found, key=lambda p: (str(p.parent), -(_rotation(p) or 0)))

    def invocations(self) -> list[Invocation]:
        """The invocations logged since the cursor was made."""
        # One folder's files in order are one stream (an invocation may span a rotation).
        streams: dict[Path, list[str]] = {}
        for path in self._logs():
            try:
                with path.open("rb") as fh:
                    fh.seek(self.offsets.get(os.fstat(fh.fileno()).st_ino, 0))
                    streams.setdefault(path.parent, []).append(fh.read().decode(errors="replace"))
            except OSError:
                continue  # rotated away between the listing and the read
        return [inv for parts in streams.values() for inv in read_invocations("".join(parts))]

    def evidence(self) -> dict[str, Any] | None:
        """``evidence`` of the invocations logged since the cursor was made."""
        return evidence(self.invocations())
