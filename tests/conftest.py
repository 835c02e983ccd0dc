"""Suite-wide order: the slow real-stack modules are handed out first, longest first.

`tox -e py` runs the suite on two xdist workers, a whole module per worker
(`--dist loadfile --no-loadscope-reorder`, so a module's real run, a module-scoped
fixture, happens once, and modules are handed out in this order). Each worker takes the
next module when it is free; if a long real-stack module came last, one worker would
run it alone while the other sat idle (on 2026-12-02 the partial-parse module ran its
last 9 minutes alone that way). So the slow modules go out longest first, by the
seconds each took in the suite on two workers on 2026-12-07 (CI's `.ci/run`, 14.5 min:
each module's span from the times of its tests' tmp folders; the Celery module less the
pod_size bisection and half its DAG's tasks, cut right after; the load test with its
bisection on 4 of the models, from its records' harness_s). A hint for the order only: a
module missing here goes after these, before the quick unit modules. The session's one
Airflow migration is below.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.stack.workspace import SHARED_TEMPLATE_ENV

SLOW_MODULE_S = {
    "test_load.py": 380,
    "test_run.py": 165,
    "test_run_own_project.py": 150,
    "test_run_own_project_sizing.py": 125,
    "test_run_celery.py": 110,
    "test_advise.py": 100,
    "test_run_partial_parse.py": 85,
    "test_upgrade_stack.py": 80,
    "test_run_cleanup.py": 75,
    "test_soak.py": 50,
    "test_generate.py": 40,
    "test_run_rerun.py": 15,
    "test_altenv.py": 10,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow modules first, the longest first (a stable sort: a module's tests keep their
    order)."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}

    def key(item: pytest.Item) -> tuple[bool, int]:
        return item.path not in slow_modules, -SLOW_MODULE_S.get(item.path.name, 0)

    items.sort(key=key)


@pytest.fixture(scope="session", autouse=True)
def one_airflow_migration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One `airflow db migrate` per test session: every harness run of the session (in
    these processes and the subprocesses they start) copies the metadata database the
    first one migrated into a folder both xdist workers share, instead of migrating its
    own (harness.stack.workspace.SHARED_TEMPLATE_ENV; docs/testing.md, "What the tests
    share")."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SHARED_TEMPLATE_ENV, str(base / "airflow-shared"))
        yield
