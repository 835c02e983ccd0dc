"""Suite-wide order: the slow real-stack modules are handed out first.

`tox -e py` runs the suite on two xdist workers, a whole module per worker
(`--dist loadfile --no-loadscope-reorder`, so a module's real run, a module-scoped
fixture, happens once, and modules are handed out in this order). Each worker takes the
next module when it is free; if a long real-stack module came
last, one worker would run it alone while the other sat idle. Starting them first
leaves the quick unit modules to fill the end.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow modules first (a stable sort: the order within each group is kept)."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_modules)
