"""Environment that keeps the stack quiet and local (docs/ARCHITECTURE.md, trap 10).

Every process the harness starts on the real stack (dbt, airflow, a DAG parse)
gets these variables, so no run phones home and no figure includes a network call.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.registry import AXES

QUIET_ENV: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DBT_VERSION_CHECK": "False",
    "PYTHONWARNINGS": "ignore",
}


def quiet_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus QUIET_ENV plus ``extra`` (later wins)."""
    env = dict(os.environ)
    env.update(QUIET_ENV)
    # Cosmos looks for `dbt` on PATH (DBT_LS, SUBPROCESS): the one installed beside
    # this interpreter, whether or not its environment is activated.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if extra:
        env.update(extra)
    return env


def axis_env(values: Mapping[str, Any], phase: str | None) -> dict[str, str]:
    """The variables the env and config axes declare (``Axis.sets``) for the axis values
    ``values`` in ``phase`` (None: a process outside any measurement, e.g. the database
    migration, gets only those set in every phase). Set before any process starts, since
    Cosmos reads its settings at import (trap 8); the same dict goes to every process of
    a measurement. Settings another part of the harness makes (``Setting.by``) are not here."""
    out: dict[str, str] = {}
    for axis in AXES.values():
        value = values[axis.name]
        for s in axis.sets:
            if s.by is not None:
                continue
            if s.when == "acts":
                on = phase is not None and phase in axis.phases and axis.acts(values, phase)
            else:
                on = s.when == "always" or value != axis.default
            if on:
                out[s.name] = s.render(value)
    return out


AXIS_DEFAULTS: dict[str, Any] = {name: axis.default for name, axis in AXES.items()}
"""Every axis at its default: the values of a process outside any scenario."""
