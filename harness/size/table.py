"""The sizing answer as one table: each deployment a user runs, at the project sizes
users have, the memory to give it (`harness size --table`; the README's headline)."""

from __future__ import annotations

from harness.size.answer import MARGIN, Request, Sized, size_one
from harness.size.deployments import DEPLOYMENTS, named, observations
from harness.size.model import leave_one_size_out
from harness.store.record import Record
from harness.store.runinfo import Machine, RunInfo

SIZES = (100, 1000, 5000)
ROWS: tuple[tuple[str, str, int], ...] = (
    ("LocalExecutor worker", "LOCAL", 1),
    ("LocalExecutor worker", "LOCAL", 4),
    ("LocalExecutor worker", "WATCHER", 4),
    ("Celery worker", "LOCAL", 1),
    ("Celery worker", "LOCAL", 2),
    ("Celery worker", "LOCAL", 4),
    ("Celery worker", "LOCAL", 8),
    ("WATCHER producer's worker", "WATCHER", 2),
    ("WATCHER sensors' worker", "WATCHER", 2),
    ("WATCHER sensors' worker", "WATCHER", 4),
    ("pod per task", "LOCAL", 1),
    ("pod per task", "WATCHER", 1),
    ("DAG processor", "LOCAL", 1),
)
"""(deployment, execution mode, slots): the configurations users deploy most."""
_MARK = {"measured": "", "predicted": " (p)", "extrapolated": " (x)"}


def cell(s: Sized) -> str:
    """One size as the table shows it."""
    if s.basis == "failed":
        # "status: what failed: details (run)" -> "fails: what failed"
        return "fails: " + s.failures[0].split(": ")[1].split(" (")[0]
    if s.basis == "refused":
        return "not predicted"
    if s.give_mib is None:
        return "-"
    if s.raised_to_producer and s.producer_floor is not None:
        # The floor is what the cell shows: its own basis and interval, marked (w).
        return f"{cell(s.producer_floor)} (w)"
    given = f"{s.give_mib}{_MARK[s.basis]}{' (b)' if s.raised_to_limit else ''}"
    p = s.prediction
    if s.basis != "measured" and p is not None and p.low_mib is not None:
        # A predicted size carries its model's figure and 95% interval where it is shown.
        return f"{given} [{p.mib:.0f}: {p.low_mib:.0f}-{p.high_mib:.0f}]"
    return given


def sizing_rows(
    records: list[Record], sizes: tuple[int, ...] = SIZES
) -> list[tuple[str, str, str, list[str]]]:
    """(deployment, mode, slots shown, one cell per size) for every row of ROWS."""
    out = []
    for name, mode, slots in ROWS:
        d = named(name)
        cells = [cell(size_one(d, records, Request(m, d.executor, slots, mode))) for m in sizes]
        out.append((name, mode, str(slots) if d.slots_axis else "-", cells))
    return out


LEGEND = (
    f"MiB to give, the largest measured peak plus {MARGIN:.0%} for run-to-run spread; "
    "(p): predicted by the sizing model within the measured sizes, (x): extrapolated "
    "beyond them, each with [the model's peak: its 95% prediction interval] (`harness size` "
    "names the records it was fitted from); (b): the smallest worker's bisection at that "
    "size needed more than the runs' peaks plus the margin, and the size is its smallest "
    "limit that succeeded; (w): WATCHER's producer building the whole project as one task "
    "(the pod per task row), since this size's DAG runs were run_nodes slices, whose producer "
    "builds the slice alone: a worker that runs the producer needs at least that, plus its "
    "own processes; not predicted: the records cannot support a "
    "prediction there (`harness size` says why: e.g. their sizes span too few models to "
    "extrapolate the growth); fails: every "
    "measurement at that size failed, with the worker's peak when a task failed (memory "
    "cures neither a timeout nor, at many slots, tasks waiting on DuckDB's one writer "
    "past dbt-duckdb's retries: docs/ARCHITECTURE.md, trap 15). dbtRunner, "
    "DBT_MANIFEST, partial parse on, one DbtDag."
)


def sizing_table(records: list[Record]) -> str:
    """The markdown table of every row of ROWS at every size of SIZES."""
    head = "| deployment | mode | slots | " + " | ".join(f"{n} models" for n in SIZES) + " |"
    lines = [head, "|---|---|---|" + "---|" * len(SIZES)]
    for name, mode, slots, cells in sizing_rows(records):
        lines.append(f"| {name} | {mode} | {slots} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", LEGEND])


def machine_line(info: RunInfo) -> str:
    """Where a run measured, from its run.json: machine and the stack's versions."""
    m, v = info.machine or Machine(), info.versions
    memory = (m.memory_bytes or 0) / 2**30
    return (
        f"{m.cores_logical}-core {m.cpu} {m.node}, {memory:.0f} GiB; "
        f"Airflow {v.get('apache-airflow')}, Cosmos {v.get('astronomer-cosmos')}, "
        f"dbt-core {v.get('dbt-core')}, dbt-duckdb {v.get('dbt-duckdb')}, "
        f"DuckDB {v.get('duckdb')}, Python {v.get('python')}"
    )


def validation_summary(records: list[Record]) -> str:
    """Each deployment's largest leave-one-size-out error, and the sizes its fit without
    them refused to predict, as one line."""
    parts = []
    for d in DEPLOYMENTS:
        checks = [
            (mode, v)
            for mode in d.modes
            for v in leave_one_size_out(observations(d, records, mode, "DBT_RUNNER"))
        ]
        errors = [abs(e) for _, v in checks if (e := v.error) is not None]
        refused = sorted({(mode, v.models) for mode, v in checks if v.refused})
        if not errors and not refused:
            continue
        part = f"{d.name} {max(errors):.0%}" if errors else d.name
        if refused:
            left = ", ".join(f"{mode} {models}" for mode, models in refused)
            part += f" (left out, not predicted: {left} models)"
        parts.append(part)
    return "; ".join(parts)
