"""Environment that keeps the stack quiet and local (docs/ARCHITECTURE.md, trap 10).

Every process the harness starts on the real stack (dbt, airflow, a DAG parse)
gets these variables, so no run phones home and no figure includes a network call.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

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
