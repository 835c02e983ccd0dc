"""The typed reader of a record's figures (harness.store.figures): it declares exactly
the figures the registry declares, typed as declared, and nothing else can be read."""

from __future__ import annotations

import dataclasses
import types
import typing

import pytest
from report_fixtures import records, with_figures

from harness.registry import figures as declared
from harness.store import figures as fig
from harness.store.figures import Figs


def _types(annotation: object) -> set[object]:
    """The members of a union (one member for a plain type)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set(typing.get_args(annotation))
    return {annotation}


def _declared() -> dict[str, set[object]]:
    """Each figure any phase declares -> the union of its declared types, None included
    (a record of another phase has none)."""
    out: dict[str, set[object]] = {}
    for kind in vars(declared).values():
        if isinstance(kind, type) and issubclass(kind, declared.Figures):
            hints = typing.get_type_hints(kind, vars(declared))
            for f in dataclasses.fields(kind):
                if f.name != "extra":
                    out.setdefault(f.name, {type(None)}).update(_types(hints[f.name]))
    return out


def test_every_declared_figure_is_an_attribute_of_its_declared_type_and_no_other() -> None:
    hints = typing.get_type_hints(Figs, vars(fig))
    typed = {name: _types(hints[name]) for name in fig.NAMES}
    want = _declared()
    assert sorted(typed) == sorted(want), "Figs and harness.registry.figures disagree"
    wrong = {n: (typed[n], want[n]) for n in want if typed[n] != want[n]}
    assert wrong == {}


def test_a_name_not_declared_cannot_be_read_or_set() -> None:
    f = Figs()
    with pytest.raises(AttributeError):
        f.min_limit  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises((AttributeError, TypeError, dataclasses.FrozenInstanceError)):
        f.min_limit = 3  # type: ignore[attr-defined, misc]


def test_a_record_reads_its_phases_figures_and_none_for_the_others() -> None:
    (r,) = with_figures(
        records("dag_run", 10, 300, 30, reps=1),
        tasks={"a": {"state": "success"}, "b": {"state": "failed"}, "c": {}, "d": "junk"},
        log="logs/x.log", min_limit_mib=512, count=3,
    )  # fmt: skip
    f = r.figs
    assert f.log == "logs/x.log" and f.listening == [] and f.task_states() == {
        "a": "success",
        "b": "failed",
    }
    # A figure its phase's type does not declare is kept in extra and read from there.
    assert f.min_limit_mib == 512 and f.leak_flag is None and f.probes is None
    assert "count" not in fig.NAMES


def test_numbers_are_read_as_floats_and_the_rest_left_out() -> None:
    assert fig.number(True) is None and fig.number(2) == 2.0 and fig.number("2") is None
    assert fig.numbers([1, None, "x", 2.5]) == [1.0, 2.5]
