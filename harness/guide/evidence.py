"""Did the option take effect on its side of a pair? The evidence rule of the guide.

A difference (or none) between a scenario with an option and its twin without it
says something about the option only if both sides did what their labels say: on
the option's side dbt did partially parse (its own log, figures.dbt), debug mode did
push its figure, WATCHER's sensors did run as deferrable; on the twin's side none of
that happened (dbt's log says it parsed in full, no debug figure, no sensor
deferred). A pair where either side broke its label is left out of the verdict;
when no pair is left the verdict is "not measured", with the reason, never "not
seen". Options whose effect the harness sets directly (load mode, invocation,
imports, concurrency) always act. A side that failed (a timeout, an OOM kill) has no
figures to check: only the side that succeeded is checked.

Whether the code under test reads an option at all (``setting_uses``) is checked
against the installed package's source, so the "no effect in this version" verdict
follows the Cosmos installed, not a sentence written for one release.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.registry.figures import DbtEvidence
from harness.store.record import Record

Check = Callable[[Sequence[Record]], tuple[bool, str]]


def _ok(records: Sequence[Record]) -> list[Record]:
    return [r for r in records if r.status == "ok"]


def _dbt(records: Sequence[Record]) -> list[DbtEvidence]:
    return [r.figs.dbt for r in _ok(records) if r.figs.dbt is not None]


def _used(d: DbtEvidence) -> int:
    """The invocations that partially parsed (at least one when dbt says it did)."""
    return max((d.partial_parse_runs or [0])[0], int(bool(d.partial_parse_used)))


def _pushed(records: Sequence[Record]) -> bool:
    return any(r.figs.cosmos_debug_max_memory_mb for r in _ok(records))


def _deferred(records: Sequence[Record]) -> bool:
    return any(r.figs.deferred_tasks for r in _ok(records))


def _partial_parse(records: Sequence[Record]) -> tuple[bool, str]:
    dbt = _dbt(records)
    if not dbt:
        return (
            False,
            "no record says what dbt did (no figures.dbt: recorded before dbt's log was read)",
        )
    if any(_used(d) for d in dbt):
        return True, "dbt's log shows partial parse used"
    reasons = sorted({d.reason for d in dbt if d.reason})
    why = "; ".join(reasons) or "no manifest load logged"
    return False, f"dbt never partially parsed on the option's side ({why})"


def _debug_mode(records: Sequence[Record]) -> tuple[bool, str]:
    if _pushed(records):
        return True, "debug mode pushed its figure"
    return False, "debug mode pushed no figure (no cosmos_debug_max_memory_mb)"


def _watcher(records: Sequence[Record]) -> tuple[bool, str]:
    if _deferred(records):
        return True, "the sensors ran as deferrable"
    if all(r.figs.deferred_tasks is None for r in _ok(records)):
        return False, "no record says whether the sensors deferred (recorded before it was read)"
    return False, "no sensor was seen deferred"


def _partial_parse_off(records: Sequence[Record]) -> tuple[bool, str]:
    dbt = _dbt(records)
    if not dbt:
        return False, "no record says what dbt did on the side without the option"
    used = sum(_used(d) for d in dbt)
    if used:
        return False, f"dbt partially parsed on the side without the option ({used} times)"
    return True, "dbt's log shows no partial parse without the option"


def _debug_mode_off(records: Sequence[Record]) -> tuple[bool, str]:
    if _pushed(records):
        return False, "debug mode pushed its figure on the side without it"
    return True, "no debug figure without the option"


def _watcher_off(records: Sequence[Record]) -> tuple[bool, str]:
    if _deferred(records):
        return False, "sensors deferred on the side without WATCHER"
    return True, "no sensor deferred without WATCHER"


CHECKS: dict[str, tuple[Check, Check]] = {
    "partial_parse": (_partial_parse, _partial_parse_off),
    "debug_mode": (_debug_mode, _debug_mode_off),
    "watcher": (_watcher, _watcher_off),
}
"""Guide option key -> the check of its side with the option, and of its twin's."""


def acted(
    option: str, with_records: Sequence[Record], without_records: Sequence[Record]
) -> tuple[bool, str]:
    """Whether ``option`` (a guide option key) took effect in a pair, and why (not):
    on the side with it, and not on the side without it."""
    checks = CHECKS.get(option)
    if checks is None:
        return True, "set by the harness"
    on, off = checks
    failed = with_records and not _ok(with_records)
    took, why = (True, "its side failed: unchecked") if failed else on(with_records)
    if not took:
        return False, why
    if without_records and not _ok(without_records):
        return True, f"{why}; the side without it failed: unchecked"
    clean, why_off = off(without_records)
    return (True, why) if clean else (False, why_off)


@dataclass(frozen=True)
class SettingUse:
    """Where an installed package's source names a setting."""

    setting: str
    package: str
    version: str | None
    files: int
    """The package's .py files searched."""
    defined: tuple[str, ...]
    """"path:line" of the assignments that read it (``setting = conf.get...``)."""
    used: tuple[str, ...]
    """"path:line" of every other line that names it."""

    @property
    def unused(self) -> bool:
        """Read and never used: the option cannot change what the package does."""
        return bool(self.defined) and not self.used

    def text(self) -> str:
        """The evidence in words."""
        where = ", ".join(self.defined) or "nowhere"
        version = self.version or "(version unknown)"
        head = f"{self.package} {version}: `{self.setting}` is read in {where}"
        if self.unused:
            return f"{head} and used nowhere else in its {self.files} source files"
        return f"{head}; used in {', '.join(self.used[:5])}"


def _package_dir(package: str) -> Path | None:
    """The installed package's folder, found without importing it (trap 9)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def setting_uses(
    setting: str, package: str = "cosmos", dist: str = "astronomer-cosmos", root: Path | None = None
) -> SettingUse | None:
    """Grep the installed ``package`` (or ``root``) for ``setting``; None when not installed."""
    folder = root or _package_dir(package)
    if folder is None:
        return None
    try:
        version: str | None = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        version = None
    name = re.compile(rf"\b{re.escape(setting)}\b")
    assign = re.compile(rf"^\s*{re.escape(setting)}\s*(:[^=]*)?=")
    files = sorted(folder.rglob("*.py"))
    defined: list[str] = []
    used: list[str] = []
    for f in files:
        lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
        for n, line in enumerate(lines, 1):
            if name.search(line):
                at = f"{package}/{f.relative_to(folder).as_posix()}:{n}"
                (defined if assign.match(line) else used).append(at)
    return SettingUse(setting, package, version, len(files), tuple(defined), tuple(used))
