"""Which Cosmos and dbt releases can run on the locked stack, said before anything runs.

A scenario asking for a release that cannot run is refused when the scenario file is
loaded (``harness run --dry-run`` included), with one line that says why; a release
that can run in general but not in one combination (WATCHER before Cosmos had it)
gets an ``invalid`` record with the reason, as Cosmos's own rejections do.

Found on this stack (Airflow 3.3.2, Python 3.11, 2026-12-07), beside the locked 1.15.1:
1.14.2 and 1.15.0 build with the lock's exact pins and import as they are, and 1.14.2
ran a LOCAL task, WATCHER's producer and a DAG run (tests/test_upgrade_stack.py);
1.10.0, 1.11.3, 1.12.1 and 1.13.1 build with the exact pins and import once their
provider entry point is dropped (docs/ARCHITECTURE.md, trap 19), none run through a
task here yet; 1.9.2 does not import ("cannot import name 'context_to_airflow_vars'
from 'airflow.utils.operator_helpers'").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

FIRST_AIRFLOW3 = (1, 10, 0)
"""The first Cosmos release with Airflow 3 support (its "Airflow 3 compatibility (first
iteration)" page): an older one cannot run on the locked Airflow 3.3."""
FIRST_WATCHER = (1, 11, 0)
"""The first Cosmos release with ExecutionMode.WATCHER."""
DBT_UNINSTALLABLE = (1, 12, 0)
"""dbt-core from this release on needs dbt-core-experimental-parser, whose build
downloads a binary from outside the package registries (trap 1)."""
DBT_HOWTO = "README.md, 'dbt-core 1.12'"
"""Where a user with internet access reads how to measure such a dbt."""


def release(text: str) -> tuple[int, ...] | None:
    """'1.14.2' -> (1, 14, 2); None for 'locked' or anything that is not a release."""
    if not re.fullmatch(r"\d+(\.\d+)*", text):
        return None
    return tuple(int(p) for p in text.split("."))


def _show(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def cosmos_refusal(value: Any) -> str | None:
    """Why Cosmos ``value`` cannot run on the locked Airflow at all, or None."""
    got = release(str(value))
    if got is not None and got < FIRST_AIRFLOW3:
        return (
            f"Cosmos {value} cannot run on the locked Airflow 3.3: Airflow 3 support came "
            f"in Cosmos {_show(FIRST_AIRFLOW3)}"
        )
    return None


def dbt_refusal(value: Any) -> str | None:
    """Why dbt-core ``value`` cannot be measured here, or None ('locked')."""
    got = release(str(value))
    if got is None:
        return None
    if got >= DBT_UNINSTALLABLE:
        return (
            f"dbt-core {value} cannot be installed here: it needs "
            "dbt-core-experimental-parser, whose build downloads a binary (trap 1); "
            f"with internet access, see {DBT_HOWTO}"
        )
    return f"dbt-core {value}: only the locked dbt-core 1.11 is installed; see {DBT_HOWTO}"


def combination_refusal(values: Mapping[str, Any]) -> str | None:
    """Why this combination cannot run with the Cosmos it asks for, or None."""
    got = release(str(values.get("cosmos_version", "locked")))
    if got is not None and got < FIRST_WATCHER and values.get("execution_mode") == "WATCHER":
        return (
            f"ExecutionMode.WATCHER does not exist in Cosmos {values['cosmos_version']} "
            f"(it came in {_show(FIRST_WATCHER)})"
        )
    return None
