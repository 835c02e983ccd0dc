"""The typed reader of axis values (harness.registry.values): it declares exactly the axes
AXES declares, typed as each Axis.kind, plus the record-only keys, and nothing else can be
read."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

import pytest

from harness.compare.samples import PROJECT_KEYS
from harness.registry import AXES
from harness.registry import values as vals
from harness.registry.values import NAMES, RECORD_KEYS, AxisValues
from harness.scenarios.model import ProjectSpec, Scenario
from harness.store.jsonl import read_records

ROOT = Path(__file__).resolve().parents[1]


def _types(annotation: object) -> set[object]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set(typing.get_args(annotation))
    return {annotation}


def _typed(cls: type) -> dict[str, set[object]]:
    hints = typing.get_type_hints(cls, vars(vals))
    return {f.name: _types(hints[f.name]) for f in dataclasses.fields(cls)}


def test_every_axis_is_an_attribute_of_its_declared_kind_or_none_in_axes_order() -> None:
    typed = _typed(AxisValues)
    axes = [n for n in typed if n not in RECORD_KEYS]
    assert axes == list(AXES), "AxisValues and harness.registry.axes.AXES disagree"
    wrong = {n: typed[n] for n in axes if typed[n] != {AXES[n].kind, type(None)}}
    assert wrong == {}
    assert (*AXES, *RECORD_KEYS) == NAMES


def test_the_check_fails_when_an_axis_is_missing_or_mistyped() -> None:
    # The same comparison on classes that lost an axis or mistyped one: it must see both.
    fields = [(f.name, f.type, f.default) for f in dataclasses.fields(AxisValues)]
    lost = dataclasses.make_dataclass("Lost", fields[1:])
    assert [n for n in _typed(lost) if n not in RECORD_KEYS] != list(AXES)
    mistyped = dataclasses.make_dataclass(
        "Mistyped", [(n, "int | None" if n == "load_mode" else t, d) for n, t, d in fields]
    )
    assert _typed(mistyped)["load_mode"] != {AXES["load_mode"].kind, type(None)}


def test_the_record_keys_are_compares_project_keys() -> None:
    assert tuple(PROJECT_KEYS) == RECORD_KEYS
    assert not set(RECORD_KEYS) & set(AXES)


def test_every_key_a_committed_record_carries_is_an_attribute_of_its_type() -> None:
    # A key outside NAMES would be a value the typed reader silently never shows.
    seen: set[str] = set()
    wrong: list[str] = []
    for path in sorted(ROOT.glob("results/baselines/*/results.jsonl")):
        for r in read_records(path, skip_bad=True):
            seen |= set(r.axes)
            for name, axis in AXES.items():
                value = getattr(r.ax, name)
                kinds = (int, float) if axis.kind is float else (axis.kind,)
                if value is not None and not isinstance(value, kinds):
                    wrong.append(f"{path.parent.name} {r.scenario_id}: {name}={value!r}")
    assert seen and seen <= set(NAMES), sorted(seen - set(NAMES))
    assert wrong == [], "a stored value is not of its axis's declared kind"


def test_a_name_not_declared_cannot_be_read_or_set() -> None:
    a = AxisValues()
    with pytest.raises(AttributeError):
        a.load_method  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises((AttributeError, TypeError, dataclasses.FrozenInstanceError)):
        a.load_mode = "DBT_LS"  # type: ignore[misc]


def test_a_scenario_reads_every_axis_and_unknown_keys_are_left_out() -> None:
    values = {n: a.default for n, a in AXES.items()} | {"load_mode": "DBT_MANIFEST"}
    s = Scenario(ProjectSpec(models=10), tuple(values.items()))
    assert s.ax.load_mode == "DBT_MANIFEST"
    assert s.ax.concurrency == AXES["concurrency"].default
    assert all(getattr(s.ax, n) == AXES[n].default for n in AXES if n != "load_mode")
    assert AxisValues.of({"gone_axis": 1, "cache": "warm"}) == AxisValues(cache="warm")
