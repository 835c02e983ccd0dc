"""Ask Cosmos itself whether combinations of options are valid.

Usage: python -m harness.run.probes.validate IN_JSON OUT_JSON
IN_JSON is a list of {"execution_mode", "execution_invocation", "load_mode",
"render_invocation", "enable_mock_profile", "test_behavior",
"test_indirect_selection"}; OUT_JSON the same list of
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
    from cosmos.constants import (
        ExecutionMode,
        InvocationMode,
        LoadMode,
        TestBehavior,
        TestIndirectSelection,
    )
    from cosmos.exceptions import CosmosValueError

    # A null value is an option the phase leaves at Cosmos's default.
    exec_kwargs: dict[str, Any] = {"execution_mode": ExecutionMode[combo["execution_mode"]]}
    if combo.get("execution_invocation"):
        exec_kwargs["invocation_mode"] = InvocationMode[combo["execution_invocation"]]
    if combo.get("test_indirect_selection"):
        selection = TestIndirectSelection(combo["test_indirect_selection"])
        exec_kwargs["test_indirect_selection"] = selection
    render_kwargs: dict[str, Any] = {"load_method": LoadMode[combo["load_mode"]]}
    if combo.get("test_behavior"):
        render_kwargs["test_behavior"] = TestBehavior(combo["test_behavior"])
    if combo.get("render_invocation"):
        render_kwargs["invocation_mode"] = InvocationMode[combo["render_invocation"]]
    if combo.get("enable_mock_profile") is not None:
        render_kwargs["enable_mock_profile"] = combo["enable_mock_profile"]
    try:
        ExecutionConfig(**exec_kwargs)
        RenderConfig(**render_kwargs)
    except (CosmosValueError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if combo.get("test_behavior") == "build":
        # One `dbt build` task per model needs the mode's DbtBuild operator; WATCHER's
        # refuses to exist, which the configs above accept (it fails building the DAG).
        return operator_refusal(exec_kwargs["execution_mode"], "DbtBuild")
    return None


def operator_refusal(mode: Any, dbt_class: str) -> str | None:
    """Cosmos's message where the execution mode's operator for ``dbt_class`` refuses to
    be made at all (NotImplementedError), else None."""
    import importlib

    from cosmos.airflow.graph import calculate_operator_class

    module, _, name = calculate_operator_class(mode, dbt_class).rpartition(".")
    cls = getattr(importlib.import_module(module), name, None)
    if cls is None:
        return f"Cosmos has no {name} for ExecutionMode.{mode.name}"
    try:
        cls.__init__(object.__new__(cls))
    except NotImplementedError as exc:
        return f"NotImplementedError (Cosmos's {name}): {exc}"
    except Exception:  # an operator that exists and only wants its arguments
        return None
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
