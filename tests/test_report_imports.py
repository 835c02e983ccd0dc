"""Importing harness.report, or any module of it, loads none of matplotlib, scipy or
jinja2: they are imported where a figure is drawn, a statistic computed or HTML
rendered (importing the report once took 5 s on a busy machine)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import harness.report

HEAVY = ("matplotlib", "scipy", "jinja2")


def report_modules() -> list[str]:
    return sorted(
        f"harness.report.{m.name}" for m in pkgutil.iter_modules(harness.report.__path__)
    )


def loaded_after_import(modules: list[str]) -> list[str]:
    """The heavy packages loaded after importing ``modules`` in a fresh interpreter."""
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print(' '.join(h for h in {HEAVY!r} if h in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.split()


def test_importing_the_report_loads_no_heavy_package() -> None:
    modules = report_modules()
    assert "harness.report.render" in modules and len(modules) > 10
    assert loaded_after_import(["harness.report", *modules]) == []


def test_the_check_can_fail() -> None:
    """The same check sees a heavy package when one is imported."""
    assert loaded_after_import(["harness.report", "jinja2"]) == ["jinja2"]
