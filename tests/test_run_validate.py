"""Cosmos judges the combinations (harness.run.probes.validate), on the locked Cosmos."""

from __future__ import annotations

from harness.run.probes.validate import check

BASE = {"execution_mode": "LOCAL", "execution_invocation": "DBT_RUNNER",
        "load_mode": "DBT_MANIFEST", "render_invocation": None, "enable_mock_profile": False,
        "test_behavior": None, "test_indirect_selection": None}  # fmt: skip


def test_configs_cosmos_accepts_pass() -> None:
    assert check(BASE) is None
    assert check({**BASE, "test_behavior": "build"}) is None
    assert check({**BASE, "execution_mode": "WATCHER", "test_behavior": "after_each"}) is None


def test_watcher_with_one_build_task_per_model_is_refused_before_it_runs() -> None:
    """The configs accept it, but WATCHER has no DbtBuild operator: Cosmos raises when
    the DAG is built (a bench's whole run at 100 models failed on it, 2026-12-02)."""
    reason = check({**BASE, "execution_mode": "WATCHER", "test_behavior": "build"})
    assert reason is not None and reason.startswith("NotImplementedError")
    assert "DbtBuildWatcherOperator" in reason and "does not expose a DbtBuild operator" in reason


def test_virtualenv_with_dbt_runner_is_refused_by_the_config() -> None:
    reason = check({**BASE, "execution_mode": "VIRTUALENV"})
    assert reason is not None and "CosmosValueError" in reason
