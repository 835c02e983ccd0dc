"""Which backend measures: cgroup v2, cgroup v1, or sampling, best first."""

from __future__ import annotations

import functools
import os

from harness.errors import UsageError
from harness.measure import cgroup_v1, cgroup_v2
from harness.measure.cgroupfs import BackendUnavailable

BACKENDS = ("cgroup2", "cgroup1", "sample")
"""Every backend, in the order ``auto`` tries them."""


@functools.cache
def unavailable_reason(name: str) -> str | None:
    """Why backend ``name`` cannot be used here (None: it can). Probed once per process."""
    try:
        if name == "cgroup2":
            cgroup_v2.probe()
        elif name == "cgroup1":
            cgroup_v1.probe()
        elif name == "sample":
            if not os.path.exists("/proc/self/stat"):
                return "no /proc to sample from"
        else:
            return "unknown backend"
    except BackendUnavailable as exc:
        return str(exc)
    return None


def available_backends() -> list[str]:
    """The backends that work on this machine, best first (``sample`` wherever /proc is)."""
    return [name for name in BACKENDS if unavailable_reason(name) is None]


def choose_backend(name: str) -> str:
    """Resolve ``auto`` to the best available backend, or check a named one.

    Raises UsageError for an unknown name or a backend that is not available here.
    """
    if name == "auto":
        available = available_backends()
        if not available:
            raise UsageError("no measurement backend is available here (no /proc?)")
        return available[0]
    if name not in BACKENDS:
        raise UsageError(
            f"unknown backend {name!r}; choose one of auto, {', '.join(BACKENDS)}"
        )
    reason = unavailable_reason(name)
    if reason is not None:
        raise UsageError(f"backend {name} is not available here: {reason}")
    return name
