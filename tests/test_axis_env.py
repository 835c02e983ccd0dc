"""The environment of a measurement is derived from the axes' declarations (Axis.sets,
harness.stack_env.axis_env): every env or config axis declares what it sets, and the
derivation builds, byte for byte, the environment main built by hand before (issue 30).

tests/data/axis_env_main.json is that known truth, written by main's own Context.env at
db2612c for the scenarios of its cases; it is never regenerated from this code."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from harness.registry import AXES
from harness.registry.cli import axes_table
from harness.run.context import Context
from harness.scenarios.model import ProjectSpec, Scenario
from harness.stack.workspace import Workspace, airflow_env
from harness.stack_env import AXIS_DEFAULTS, axis_env, quiet_env

TRUTH = json.loads((Path(__file__).parent / "data" / "axis_env_main.json").read_text())
ROOT = Path(TRUTH["root"])


def build(phase: str, changes: dict[str, Any]) -> dict[str, str]:
    """Context.env of a 10-model scenario with ``changes`` off the defaults, in ``phase``."""
    scenario = Scenario(ProjectSpec(models=10), tuple({**AXIS_DEFAULTS, **changes}.items()))
    ctx = Context(Workspace(ROOT / "ws"), None, scenario, ROOT / "log", 60, ROOT / "venvs",
                  phase=phase)  # fmt: skip
    return ctx.env()


def test_the_truth_covers_every_env_axis_off_its_default_and_the_derived_timeout() -> None:
    changed = {name for case in TRUTH["cases"] for name in case["axes"]}
    assert {n for n, a in AXES.items() if a.reaches in ("env", "config")} <= changed
    timeouts = {case["axes"].get("dagbag_import_timeout") for case in TRUTH["cases"]}
    assert {None, 30, 10, 60} <= timeouts  # absent, the default, below 30 (50 s), above


def test_every_measurement_env_is_the_one_main_built_by_hand() -> None:
    for case in TRUTH["cases"]:
        expected = quiet_env({**TRUTH["base"], **case["adds"]})
        assert build(case["phase"], case["axes"]) == expected, case


def test_the_env_outside_a_measurement_is_main_s() -> None:
    env = airflow_env(ROOT / "home", tmp=ROOT / "tmp")
    assert env == quiet_env(TRUTH["plain"])


def test_every_env_or_config_axis_declares_what_it_sets_and_no_other_axis_does() -> None:
    for axis in AXES.values():
        if axis.reaches in ("env", "config"):
            assert axis.sets, axis.name
            for s in axis.sets:
                assert s.name.startswith("AIRFLOW__") or s.by is not None, (axis.name, s)
        else:
            assert axis.sets == (), axis.name


def test_each_setting_renders_the_string_airflow_reads() -> None:
    retry = AXES["watcher_reliable_retry"].sets[0]
    assert (retry.render(True), retry.render(False)) == ("True", "False")
    timeouts = AXES["dagbag_import_timeout"].sets
    assert [s.render(10) for s in timeouts] == ["10", "50"]
    assert [s.render(600) for s in timeouts] == ["600", "620"]
    assert AXES["executor"].sets[0].render("celery") == "CeleryExecutor"


def test_outside_any_phase_only_the_settings_of_every_phase_are_set() -> None:
    env = axis_env({**AXIS_DEFAULTS, "debug_mode": True, "dagbag_import_timeout": 60}, None)
    assert env["AIRFLOW__COSMOS__ENABLE_DEBUG_MODE"] == "True"
    assert "AIRFLOW__COSMOS__DEBUG_MEMORY_POLL_INTERVAL_SECONDS" not in env  # where it acts
    assert env["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] == "60"  # off its default


def test_context_env_names_no_axis_by_hand() -> None:
    source = inspect.getsource(Context.env)
    assert "axis_env(self.axes, self.phase)" in source
    for name in AXES:
        assert f'"{name}"' not in source and f"'{name}'" not in source, name


def test_harness_registry_shows_what_each_axis_sets() -> None:
    rows = {row.split("|")[1].strip(" `"): row for row in axes_table().splitlines()[2:]}
    for axis in AXES.values():
        for s in axis.sets:
            assert s.name in rows[axis.name], (axis.name, s.name)
