"""The report's sections on the workers users run (issue 14): the Celery worker size at
each worker_concurrency (with the smallest Celery worker), WATCHER's producer worker and
sensors' workers, task groups sharing a manifest, and the pod size of one task
(computed in harness.verdicts.workers, .taskgroups and .minworker). Each says "not
measured" when the run has no record of it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.compare.configs import on_celery, size_label
from harness.compare.format import fmt_mib
from harness.compare.samples import ScenarioSamples
from harness.compare.stats import Spread
from harness.registry.names import MIN_WORKER, PARSE, POD_SIZE
from harness.registry.values import AxisValues
from harness.report.sections_load import BISECTION_HEADER, DASH, bisection_cells, or_dash
from harness.report.text import fmt_s, fmt_spread
from harness.report.view import Section, Table, TableCell, cell
from harness.verdicts import minworker as mw
from harness.verdicts import taskgroups as tg
from harness.verdicts import workers as wk

CELERY_NAMED = wk.NAMED
POD_NAMED = ("execution_mode", "execution_invocation")
"""The options the pod-size table has a column for (besides the size and task groups)."""
MEDIANS = "Medians with the interquartile range over the successful repetitions (n)."
SERVICE_LABELS = {
    "scheduler": "scheduler (`airflow dags test`)",
    "broker": "broker (redis-server)",
    "api_server": "API server",
    "triggerer": "triggerer",
}


def _mem(sp: Spread | None) -> str:
    return fmt_spread(sp, "bytes") if sp else "failed"


def _counts(values: Iterable[int | None]) -> str:
    """Counts over repetitions: one value, or their range."""
    known = [v for v in values if v is not None]
    if not known:
        return DASH
    lo, hi = min(known), max(known)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _ok_n(n_ok: int, n: int, reasons: Iterable[str] = ()) -> TableCell:
    lines = [f"{n_ok}/{n}", *list(reasons)[:2]]
    return cell(lines, css="" if n_ok == n else "bad")


def _configuration(config: dict[str, Any], other: str) -> list[Any]:
    a = AxisValues.of(config)
    return [or_dash(a.execution_mode), or_dash(a.execution_invocation), other]


def _worker_lines(run: wk.CeleryRun, roles: Iterable[str] | None = None) -> list[str]:
    """One line per worker: its role, median peak and the tasks it ran; flagged when it
    ran no task (an idle worker's peak) or was not ok."""
    out = []
    for w in run.workers:
        if roles is not None and w.role not in roles:
            continue
        peak = fmt_mib(w.peak.median) if w.peak else "failed"
        who = w.name if w.name == w.role else f"{w.name} ({w.role})"
        count = _counts(w.tasks)
        line = f"{who}: {peak}, {count} task{'' if count == '1' else 's'}"
        if w.tasks and max(w.tasks) == 0:
            line += " (ran no task: an idle worker's peak)"
        if w.failed:
            line += f" ({', '.join(sorted(set(w.failed)))} in {len(w.failed)})"
        out.append(line)
    return out


def _smallest_text(m: mw.MinWorker | None) -> TableCell:
    if m is None:
        return cell("not measured", css="muted")
    if m.status != "ok" or m.min_limit_mib is None:
        return cell(f"not found ({m.status})", css="bad")
    bracket = f", fails at {m.max_failing_limit_mib:.0f} MiB" if m.max_failing_limit_mib else ""
    return cell(f"{m.min_limit_mib:.0f} MiB{bracket}", strong=True)


def _celery_tables(runs: list[wk.CeleryRun]) -> list[Table]:
    head = ["size", "execution mode", "invocation", "other options", "worker_concurrency"]
    sizes = Table(
        [*head, "ok/n", "largest worker's peak", "workers' peaks summed",
         "each worker: peak, tasks it ran", "tasks run by workers / in the DAG", "wall time",
         "smallest Celery worker (min_worker)"],
        id="celery-workers",
    )  # fmt: skip
    services = Table([*head, *SERVICE_LABELS.values()], id="celery-services")
    for r in runs:
        first = [size_label(r.size), *_configuration(r.config, r.other),
                 or_dash(AxisValues.of(r.config).worker_concurrency)]  # fmt: skip
        sizes.rows.append(
            [cell(v) for v in first]
            + [
                _ok_n(r.n_ok, r.n, r.reasons),
                cell(_mem(r.largest), strong=True),
                cell(_mem(r.total)),
                cell(_worker_lines(r)),
                cell(f"{_counts(r.tasks_run)} / {_counts(r.dag_tasks)}"),
                cell(fmt_spread(r.time, "s") if r.time else "failed"),
                _smallest_text(r.smallest),
            ]
        )
        services.rows.append(
            [cell(v) for v in first]
            + [cell(_mem(r.services[k]) if k in r.services else DASH) for k in SERVICE_LABELS]
        )
    return [sizes, services]


ONE_DAG = "none (one DbtDag)"
"""task_groups 0 (its quiet default, None in records): the DAG file holds one DbtDag."""


def _given(m: mw.MinWorker, name: str) -> Any:
    """A named column of a bisection: an axis value, or the task a pod was sized for."""
    if name == "task":
        return m.role or DASH
    if name == tg.AXIS:
        return m.axes.get(name) or ONE_DAG
    return or_dash(m.axes.get(name))


def _bisection_table(rows: list[mw.MinWorker], table_id: str, named: list[str]) -> Table:
    table = Table(
        ["size", "execution mode", "invocation", "other options", *named, *BISECTION_HEADER],
        id=table_id,
    )
    for m in rows:
        given = [_given(m, a) for a in named]
        table.rows.append(
            [cell(v) for v in [size_label(m.size), *_configuration(m.axes, m.other), *given]]
            + [cell(v) for v in bisection_cells(m)]
        )
    return table


def _stack_note(runs: list[wk.CeleryRun]) -> list[str]:
    stack = next((r.stack for r in runs if r.stack), None)
    if not stack:
        return []
    versions = ", ".join(f"{k} {v or 'unknown'}" for k, v in stack.items())
    return [f"Celery stack of these runs: {versions}."]


def celery_section(runs: list[wk.CeleryRun], bisections: list[mw.MinWorker]) -> Section:
    """The Celery worker size at each worker_concurrency, the services apart, and the
    smallest Celery worker its bisection found."""
    section = Section("Celery worker size", level=3, id="celery-section")
    if not runs and not bisections:
        section.intro.append("Not measured: no dag_run or min_worker record ran on Celery.")
        return section
    section.intro += [
        "Each Celery worker runs in its own cgroup, so its peak is what one worker node must "
        "hold at its `worker_concurrency`; the largest worker's peak sizes the node, the sum "
        "is what the workers hold together at most (they need not peak at once). The "
        "scheduler loop, the broker, the API server and the triggerer are measured apart "
        "(second table) and are in no worker's figure; elsewhere in this report (guide, "
        "recommendations, figures) a Celery dag_run's peak is the scheduler loop's alone. "
        + MEDIANS,
        "Smallest Celery worker: the smallest memory limit on each worker's cgroup under "
        "which the whole DAG run still succeeded (min_worker, by bisection); "
        "in the third table with every probe.",
    ]
    if runs:
        section.tables += _celery_tables(runs)
    else:
        section.intro.append("No Celery dag_run in this run: only the bisections below.")
    if bisections:
        named = ["worker_concurrency", "celery_workers"]
        section.tables.append(_bisection_table(bisections, "celery-min-worker", named))
    section.notes += _stack_note(runs)
    return section


def _deferred_text(values: tuple[int | None, ...]) -> TableCell:
    if not values or all(v is None for v in values):
        return cell("not recorded", css="muted")
    seen = [v for v in values if v]
    if not seen:
        return cell("none seen deferred", css="warn")
    return cell(f"yes: {_counts(seen)} sensors deferred")


def watcher_section(runs: list[wk.CeleryRun]) -> Section:
    """Under WATCHER: the producer's worker and the sensors' workers, each its own peak."""
    section = Section("WATCHER on Celery: the producer's worker and the sensors' workers",
                      level=3, id="celery-watcher-section")  # fmt: skip
    at = [r for r in runs if r.watcher]
    if not at:
        section.intro.append("Not measured: no Celery dag_run under WATCHER.")
        return section
    section.intro.append(
        "Under WATCHER the producer, which runs dbt for the whole DAG, goes to its own queue "
        f"(`{wk.PRODUCER}` role) and worker; the sensors go to the default queue's workers. "
        "Each peak is its own worker's cgroup. " + MEDIANS
    )
    table = Table(
        ["size", "invocation", "other options", "worker_concurrency", "ok/n",
         "producer's worker: peak", "sensors' workers: largest peak", "each worker: peak, tasks",
         "sensors deferred (evidence)"],
        id="celery-watcher",
    )  # fmt: skip
    for r in at:
        table.rows.append(
            [
                cell(size_label(r.size)),
                cell(or_dash(AxisValues.of(r.config).execution_invocation)),
                cell(r.other),
                cell(or_dash(AxisValues.of(r.config).worker_concurrency)),
                _ok_n(r.n_ok, r.n, r.reasons),
                cell(_mem(r.producer), strong=True),
                cell(_mem(r.sensors), strong=True),
                cell(_worker_lines(r)),
                _deferred_text(r.deferred),
            ]
        )
    section.tables.append(table)
    return section


def _ratio(p: tg.GroupPoint, first: tg.GroupPoint) -> str:
    if p is first or not p.memory or not first.memory:
        return DASH
    return f"x{p.memory.median / first.memory.median:.2f}"


def _margin(p: tg.GroupPoint) -> TableCell:
    if p.margin_s is None:
        return cell(DASH)
    passed = "passed" in p.flags or p.margin_s <= 0
    near = "near" in p.flags
    text = f"{p.margin_s:+.1f} s" + (" (passed)" if passed else " (near)" if near else "")
    return cell(text, strong=passed, css="bad" if passed else "warn" if near else "good")


def _groups_table(sweeps: list[tg.GroupSweep], parse: bool) -> Table:
    head = ["size", "configuration", "task groups", "ok/n", "peak memory",
            "peak against the fewest groups", "wall time"]  # fmt: skip
    more = ["DAG tasks", "Airflow's parse time", "dagbag_import_timeout",
            "least margin under it"] if parse else ["task (heaviest sampled)"]  # fmt: skip
    table = Table([*head, *more], id="task-groups-parse" if parse else "task-groups-task")
    for g in sweeps:
        for p in g.points:
            row = [
                cell(size_label(g.size)),
                cell(g.label),
                cell(p.groups or ONE_DAG, strong=True),
                _ok_n(p.n_ok, p.n),
                cell(_mem(p.memory)),
                cell(_ratio(p, g.points[0])),
                cell(fmt_spread(p.time, "s") if p.time else "failed"),
            ]
            if parse:
                row += [
                    cell(p.tasks if p.tasks is not None else DASH),
                    cell(fmt_spread(p.airflow_parse, "s") if p.airflow_parse else DASH),
                    cell(fmt_s(p.limit_s) if p.limit_s is not None else "not recorded"),
                    _margin(p),
                ]
            else:
                row.append(cell(p.role or DASH))
            table.rows.append(row)
    return table


def task_groups_section(scenarios: dict[str, ScenarioSamples]) -> Section:
    """The parse and one task against the number of task groups sharing one manifest."""
    section = Section("Task groups sharing one manifest", level=3, id="task-groups-section")
    by = {phase: tg.group_sweeps(scenarios, phase) for phase in tg.GROUPED}
    if not any(by.values()):
        section.intro.append("Not measured: no dag_parse or task record with task groups.")
        return section
    section.intro.append(
        "The DAG file holds N DbtTaskGroups that share one project and manifest, each "
        "selecting its slice of the models with one selector (`tag:slice_k_of_N`, which the "
        "generator writes); N = 0 is the same project as one DbtDag. The parse is the DAG "
        "processor's (a fresh process; "
        "Airflow's parse time is the file's own, which its `dagbag_import_timeout` bounds: "
        "a negative margin means the file would fail to import). One task re-imports the "
        "whole DAG file, every group included. " + MEDIANS
    )
    for phase, sweeps in by.items():
        if sweeps:
            section.tables.append(_groups_table(sweeps, parse=phase == PARSE))
    return section


def pod_size_section(rows: list[mw.MinWorker]) -> Section:
    """The smallest memory limit of a pod running one task, per configuration and size."""
    section = Section("Pod size per task", level=3, id="pod-size-section")
    if not rows:
        section.intro.append("Not measured: no pod_size record.")
        return section
    section.intro.append(
        "The smallest memory limit (cgroup) under which one task process "
        "(`airflow tasks test`, the DAG file's re-import included) still succeeded, as a "
        "KubernetesExecutor pod runs it; found by bisection, each probe from a clean state."
    )
    section.tables.append(_bisection_table(rows, "pod-size", [tg.AXIS, "task"]))
    return section


def workers_section(scenarios: dict[str, ScenarioSamples]) -> Section:
    """Every section on the workers users run; the ones not measured say so."""
    runs = wk.celery_runs(scenarios)
    celery = mw.bisections(scenarios, MIN_WORKER, (*CELERY_NAMED, "celery_workers"), on_celery)
    pods = mw.bisections(scenarios, POD_SIZE, (*POD_NAMED, tg.AXIS))
    return Section(
        "Workers: Celery, task groups, pods",
        id="workers",
        children=[
            celery_section(runs, celery),
            watcher_section(runs),
            task_groups_section(scenarios),
            pod_size_section(pods),
        ],
    )
