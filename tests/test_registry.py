"""The registry of phases and axes (harness/registry): each declared once, and every
declaration resolves to working code. docs/scenarios.md's axis and phase tables are
`harness registry`'s output: `python tests/test_registry.py` rewrites them."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from harness.registry import AXES, PHASES
from harness.registry.axes import effective
from harness.registry.cli import axes_table, phases_table
from harness.registry.figures import Figures, ParseFigures

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {name: axis.default for name, axis in AXES.items()}


@pytest.mark.parametrize("name", list(PHASES))
def test_every_phase_names_a_recipe_that_exists(name: str) -> None:
    module, _, fn = PHASES[name].recipe.partition(":")
    assert callable(getattr(importlib.import_module(module), fn))


@pytest.mark.parametrize("name", list(PHASES))
def test_every_phase_prices_its_default_scenario(name: str) -> None:
    assert PHASES[name].price(DEFAULTS, 100) > 0
    assert issubclass(PHASES[name].figures, Figures)


@pytest.mark.parametrize("name", list(AXES))
def test_every_axis_accepts_its_default_and_shapes_a_phase(name: str) -> None:
    axis = AXES[name]
    assert axis.check(axis.default) is None
    assert axis.phases and set(axis.phases) <= set(PHASES)


def test_an_axis_that_does_not_act_is_collapsed() -> None:
    manifest = {**DEFAULTS, "load_mode": "DBT_MANIFEST", "cache": "warm"}
    parse = effective(manifest, "dag_parse")
    # No dbt ls: the cache state, the render invocation and (at parse) dbt's own
    # options cannot change the figures.
    assert parse["cache"] is None and parse["render_invocation"] is None
    assert parse["partial_parse"] is None and parse["enable_mock_profile"] is None
    # A task runs dbt, so partial parse acts there.
    assert effective(manifest, "task")["partial_parse"] is True
    assert effective({**DEFAULTS, "debug_mode": False}, "task")["debug_poll_s"] is None
    assert "concurrency" not in parse
    # Quiet defaults stay out of ids.
    assert effective(DEFAULTS, "import")["cosmos_version"] is None


def test_bad_values_are_named() -> None:
    assert "unknown value 'DBT_X'" in (AXES["load_mode"].check("DBT_X") or "")
    assert "at least 1" in (AXES["concurrency"].check(0) or "")
    assert "true or false" in (AXES["partial_parse"].check("yes") or "")
    assert AXES["cosmos_version"].check("1.13.1") is None
    assert AXES["cosmos_version"].check("latest") is not None


def test_figures_are_typed_and_keep_what_they_do_not_know() -> None:
    f = ParseFigures.from_dict({"tasks": 12, "parse_s": 1.5, "from_the_future": 1})
    assert f.tasks == 12 and f.extra == {"from_the_future": 1}
    assert ParseFigures.from_dict(f.to_dict()) == f
    with pytest.raises(ValueError, match="no figure 'taks'"):
        ParseFigures.from_dict({"taks": 12}, strict=True)
    assert {f.name for f in dataclasses.fields(ParseFigures)} >= {"log", "harness_s"}


DOCS = ROOT / "docs" / "scenarios.md"
"""Where the axis and phase reference lives, between the markers of BLOCKS."""


def _blocks() -> dict[str, str]:
    """Marker name -> the table `harness registry` prints for it."""
    return {"registry-axes": axes_table(), "registry-phases": phases_table()}


def _replace_block(text: str, name: str, table: str) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"{DOCS.relative_to(ROOT)}: needs exactly one {begin} and one {end}")
    head, rest = text.split(begin, 1)
    return head + begin + "\n" + table.strip() + "\n" + end + rest.split(end, 1)[1]


def regenerate(text: str) -> str:
    """``text`` with every registry block rewritten from the declarations."""
    for name, table in _blocks().items():
        text = _replace_block(text, name, table)
    return text


def test_the_docs_tables_are_the_registry_as_declared() -> None:
    text = DOCS.read_text()
    assert regenerate(text) == text, (
        "docs/scenarios.md's axis or phase table differs from the registry: "
        "run `python tests/test_registry.py` to rewrite it"
    )


if __name__ == "__main__":
    DOCS.write_text(regenerate(DOCS.read_text()))
    print(f"rewrote the axis and phase tables of {DOCS.relative_to(ROOT)}")
