"""Checks of the numbers a measurement takes (limit, timeout, grace, interval), shared
by the CLI and measure(): NaN, infinities and absurd sizes are bad input, refused
before anything runs, rather than a command killed at once or a false OOM."""

from __future__ import annotations

import math

from harness.errors import UsageError

MAX_LIMIT_BYTES = 2**50
"""1 PiB: the largest memory limit taken (past it a cgroup cannot hold the value)."""
MAX_TIMEOUT_S = 366 * 86400.0
"""A year: longer waits overflow the threading and signal clocks."""
MAX_GRACE_S = 3600.0
MAX_INTERVAL_MS = 60_000.0


def checked_number(
    value: float | None, what: str, maximum: float, *, zero_ok: bool = False
) -> float | None:
    """``value`` if it is a finite number above 0 (or 0 with ``zero_ok``) and at most
    ``maximum``; else UsageError naming ``what``. None passes through."""
    if value is None:
        return None
    low = "not negative" if zero_ok else "positive"
    if not math.isfinite(value):
        raise UsageError(f"{what} must be a finite {low} number, got {value:g}")
    if value < 0 or (value == 0 and not zero_ok):
        raise UsageError(f"{what} must be {low}, got {value:g}")
    if value > maximum:
        raise UsageError(f"{what} must be at most {maximum:.10g}, got {value:g}")
    return value


def check_numbers(
    limit_bytes: float | None, timeout_s: float | None, grace_s: float, interval_ms: float
) -> None:
    """Refuse a limit, timeout, grace or poll interval that is not a sane finite number."""
    checked_number(limit_bytes, "the memory limit (bytes)", MAX_LIMIT_BYTES)
    checked_number(timeout_s, "the timeout (s)", MAX_TIMEOUT_S)
    checked_number(grace_s, "the grace (s)", MAX_GRACE_S, zero_ok=True)
    checked_number(interval_ms, "the poll interval (ms)", MAX_INTERVAL_MS)
