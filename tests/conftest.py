"""Suite-wide order: the slow real-stack modules are handed out first, longest first.

`tox -e py` runs the suite on two xdist workers, a whole module per worker
(`--dist loadfile --no-loadscope-reorder`, so a module's real run, a module-scoped
fixture, happens once, and modules are handed out in this order). Each worker takes the
next module when it is free; if a long real-stack module came last, one worker would
run it alone while the other sat idle (on 2026-12-02 the partial-parse module ran its
last 9 minutes alone that way). So the slow modules go out longest first, by the
seconds each took in the suite on two workers on 2026-12-07 (CI's `.ci/run`, 14.5 min:
each module's span from the times of its tests' tmp folders; the Celery module less the
pod_size bisection and half its DAG's tasks, cut right after). A hint for the order
only: a module missing here goes after these, before the quick unit modules.
"""

from __future__ import annotations

import pytest

SLOW_MODULE_S = {
    "test_load.py": 425,
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
