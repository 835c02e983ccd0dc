"""Ask Cosmos itself whether combinations of options are valid.

Usage: python -m harness.run.probes.validate IN_JSON OUT_JSON
IN_JSON is a list of {"execution_mode", "execution_invocation", "load_mode",
"render_invocation", "enable_mock_profile"}; OUT_JSON the same list of
Cosmos's error message or null. One process checks them all.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def check(combo: dict[str, Any]) -> str | None:
    """Cosmos's own message if it rejects the combination's configs, else None."""
    import airflow  # noqa: F401  (before cosmos: circular import otherwise)
    from cosmos.config import ExecutionConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode
    from cosmos.exceptions import CosmosValueError

    try:
        ExecutionConfig(
            execution_mode=ExecutionMode[combo["execution_mode"]],
            invocation_mode=InvocationMode[combo["execution_invocation"]],
        )
        RenderConfig(
            load_method=LoadMode[combo["load_mode"]],
            invocation_mode=InvocationMode[combo["render_invocation"]],
            enable_mock_profile=combo["enable_mock_profile"],
        )
    except (CosmosValueError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def main(inp: str, out: str) -> int:
    """Check every combination in ``inp``; write the answers to ``out``."""
    with open(inp, encoding="utf-8") as fh:
        combos = json.load(fh)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump([check(c) for c in combos], fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
