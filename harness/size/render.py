"""The text `harness size` prints: each deployment's size, and the validation table."""

from __future__ import annotations

import itertools
from typing import Any

from harness.registry.axes import INVOCATIONS
from harness.size.answer import MARGIN, Request, Sized
from harness.size.deployments import DEPLOYMENTS, observations
from harness.size.model import Validation, leave_one_size_out
from harness.store.current import Current
from harness.store.record import Record


def _interval(s: Sized) -> str:
    p = s.prediction
    if s.refused:
        return f"no prediction: {s.refused}"
    if p is None:
        return "no model (too few records)"
    band = (
        f"95% interval {p.low_mib:.0f}-{p.high_mib:.0f} MiB"
        if p.low_mib is not None and p.high_mib is not None
        else "no interval"
    )
    extra = ", extrapolated beyond the measured sizes or slots" if p.extrapolated else ""
    return f"model {p.mib:.0f} MiB ({band}{extra})"


def render_sized(req: Request, answers: list[Sized], current: Current) -> str:
    """The answer as lines of text."""
    head = (
        f"{req.models} models, executor {req.executor}"
        + (f", {req.slots} slot(s)" if req.executor != "pod" else "")
        + f", {req.mode}, {req.invocation}"
    )
    lines = [head, ""]
    for s in answers:
        give = f"{s.give_mib} MiB" if s.give_mib else "no answer"
        lines.append(f"{s.deployment}: give {give} ({s.basis})")
        if s.measured_mib:
            lines.append(f"  measured peaks: {', '.join(f'{m:.0f}' for m in s.measured_mib)} MiB")
        lines.append(f"  {_interval(s)}")
        if s.formula:
            lines.append(
                f"  fit: {s.formula}, {s.fit_points} peaks at sizes "
                f"{', '.join(map(str, s.fit_sizes))} and slots {', '.join(map(str, s.fit_slots))}"
            )
        for failure in s.failures:
            lines.append(f"  failed here: {failure}")
        if s.smallest_limit_mib:
            raised = ", which the give is raised to: the peaks' answer OOM-killed a probe" \
                if s.raised_to_limit else ""
            lines.append(f"  smallest limit it ran under (bisection): {s.smallest_limit_mib} MiB"
                         f"{raised}")  # fmt: skip
        if f := s.producer_floor:
            raised = ", which the give is raised to" if s.raised_to_producer else ""
            lines.append(f"  WATCHER's producer building the whole project as one task (pod per "
                         f"task): give {f.give_mib} MiB ({f.basis}){raised}; this size's DAG "
                         f"runs, if any, were run_nodes slices, whose producer builds the slice "
                         f"alone, so the worker needs at least that")  # fmt: skip
        errors = [abs(e) for v in s.validation if (e := v.error) is not None]
        if errors:
            lines.append(f"  leave-one-size-out error: up to {max(errors):.0%}")
        if left := sorted({v.models for v in s.validation if v.refused}):
            lines.append(f"  left out, not predicted (the model does not answer there): "
                         f"{', '.join(map(str, left))} models")  # fmt: skip
        if s.sources:
            lines.append(f"  from: {', '.join(s.sources)}")
    lines += [
        "",
        f"give = the largest measured peak, or the model's upper 95% bound, plus {MARGIN:.0%} "
        "for run-to-run spread, rounded up to 16 MiB",
    ]
    if current.superseded:
        lines.append(f"superseded records not used: {len(current.superseded)} "
                     f"(`harness report RUN RUN... --out DIR` lists them)")  # fmt: skip
    return "\n".join(lines)


def validation_row(v: Validation) -> dict[str, Any]:
    """One validation as plain data."""
    p = v.predicted
    return {
        "models": v.models, "slots": v.slots, "measured_mib": round(v.measured_mib, 1),
        "predicted_mib": round(p.mib, 1) if p else None,
        "low_mib": round(p.low_mib, 1) if p and p.low_mib is not None else None,
        "high_mib": round(p.high_mib, 1) if p and p.high_mib is not None else None,
        "extrapolated": p.extrapolated if p else None,
        "error": round(v.error, 4) if v.error is not None else None,
        "covered": v.covered,
        "refused": v.refused,
    }  # fmt: skip


def _predicted_cell(row: dict[str, Any]) -> str:
    if row["refused"]:
        return f"not predicted: {row['refused']}"
    if row["predicted_mib"] is None:
        return "too few points"
    band = f" ({row['low_mib']:.0f}-{row['high_mib']:.0f})" if row["low_mib"] is not None else ""
    return f"{row['predicted_mib']:.0f}{band}" + (" extrapolated" if row["extrapolated"] else "")


def render_validation(records: list[Record]) -> str:
    """Every deployment's leave-one-size-out errors, as a markdown table."""
    lines = [
        "| deployment | mode | invocation | models | slots | measured MiB "
        "| predicted without it | error | in 95% interval |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for d in DEPLOYMENTS:
        for mode, invocation in itertools.product(d.modes, INVOCATIONS):
            for v in leave_one_size_out(observations(d, records, mode, invocation)):
                row = validation_row(v)
                predicted = _predicted_cell(row)
                error = f"{row['error']:+.1%}" if row["error"] is not None else "-"
                covered = {True: "yes", False: "no", None: "-"}[row["covered"]]
                lines.append(
                    f"| {d.name} | {mode} | {invocation} | {v.models} | {v.slots} "
                    f"| {v.measured_mib:.0f} | {predicted} | {error} | {covered} |"
                )
    return "\n".join(lines)
