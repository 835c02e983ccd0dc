"""The report's sections on the workers users run (issue 14): the Celery worker size at
each worker_concurrency with the smallest Celery worker, WATCHER's producer worker and
sensors' workers, task groups sharing a manifest, and the pod size of one task.

Built on records of the real record class (ids and axes as the runner makes them), with
figures shaped as harness.stack.celery, parse_probe and min_worker write them and numbers
set here; each figure the report prints is checked against its known input, in the
markdown and in the HTML (the same view model renders both).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from report_fixtures import both, first_number, html_table, md_rows, md_table, records, with_figures

from harness.compare.format import MIB
from harness.compare.samples import group_scenarios
from harness.report import sections_workers
from harness.store.record import Record
from harness.verdicts import taskgroups as tg
from harness.verdicts import workers as wk

DBT: dict[str, Any] = {"load_mode": "DBT_MANIFEST", "concurrency": 4}
CELERY: dict[str, Any] = {**DBT, "executor": "celery"}


# ---------------------------------------------------------------- reading the tables








HEADERS = {
    "celery-workers": "| size | execution mode | invocation | other options | "
    "worker_concurrency | ok/n | largest",
    "celery-services": "| size | execution mode | invocation | other options | "
    "worker_concurrency | scheduler",
    "celery-min-worker": "| size | execution mode | invocation | other options | "
    "worker_concurrency | celery_workers |",
    "celery-watcher": "| size | invocation | other options | worker_concurrency | ok/n | producer",
    "task-groups-parse": "| size | configuration | task groups | ok/n | peak memory | "
    "peak against the fewest groups | wall time | DAG tasks",
    "task-groups-task": "| size | configuration | task groups | ok/n | peak memory | "
    "peak against the fewest groups | wall time | task",
    "pod-size": "| size | execution mode | invocation | other options | task_groups | task |",
}
"""Table id in the HTML -> the start of its header row in the markdown."""


def same_table(md: str, page: str, table_id: str) -> list[list[list[str]]]:
    """The table's rows, checked to say the same in the markdown and the HTML."""
    rows = md_table(md, HEADERS[table_id])
    assert rows == html_table(page, table_id)
    return rows


# ---------------------------------------------------------------- Celery worker size
def worker(name: str, role: str, peak_mib: float, tasks: int, status: str = "ok") -> dict[str, Any]:
    """One figures.workers entry as harness.stack.celery.Cluster.figures writes it."""
    queue = "cosmos_producer" if role == "producer" else "default"
    return {
        "name": name,
        "queue": queue,
        "role": role,
        "concurrency": 2,
        "status": status,
        "peak_tree_bytes": int(peak_mib * MIB),
        "peak_mib": peak_mib,
        "wall_s": 60.0,
        "cpu_s": 20.0,
        "processes_seen": 4,
        "limit_bytes": None,
        "tasks": tasks,
        "task_ids": [f"t{i}" for i in range(tasks)],
    }


def service(peak_mib: float) -> dict[str, Any]:
    return {
        "status": "ok",
        "peak_tree_bytes": int(peak_mib * MIB),
        "peak_mib": peak_mib,
        "wall_s": 60.0,
        "cpu_s": 1.0,
        "processes_seen": 1,
        "limit_bytes": None,
    }


# Per repetition: each worker's peak (MiB) and tasks; the services' peaks.
LOCAL_WORKERS = [
    [("worker1", "tasks", 300, 12), ("worker2", "tasks", 500, 8)],
    [("worker1", "tasks", 320, 11), ("worker2", "tasks", 540, 9)],
]
WATCHER_WORKERS = [
    [("worker1", "sensors", 210, 20), ("producer", "producer", 700, 1)],
    [("worker1", "sensors", 190, 20), ("producer", "producer", 740, 1)],
]
BROKER, API_SERVER, TRIGGERER = (10, 12), (180, 190), (120, 130)
SCHEDULER = 900  # above every worker: it must not leak into a worker's figure
DAG_TASKS = 20


def celery_run(mode: str, workers: list[list[tuple[str, str, float, int]]]) -> list[Record]:
    recs = records(
        "dag_run",
        10,
        SCHEDULER,
        80,
        reps=2,
        execution_mode=mode,
        worker_concurrency=2,
        celery_workers=1 if mode == "WATCHER" else 2,
        **CELERY,
    )
    out = []
    per_rep = zip(workers, BROKER, API_SERVER, TRIGGERER, strict=True)
    for r, (ws, b, a, t) in zip(recs, per_rep, strict=True):
        services = {"broker": service(b), "api_server": service(a)}
        if mode == "WATCHER":
            services["triggerer"] = service(t)
        figures = {
            "executor": "celery",
            "workers": [worker(*w) for w in ws],
            "services": services,
            "tasks": {f"t{i}": {"state": "success", "duration_s": 1.0} for i in range(DAG_TASKS)},
            "dag_run_state": "success",
            "celery_stack": {"celery": "5.5.3", "redis-server": "7.0.15"},
            "deferred_tasks": [f"t{i}" for i in range(5)] if mode == "WATCHER" else [],
        }
        out += with_figures([r], **figures)
    return out


def bisection(phase: str, limit: int, failing: int, peak: float, **axes: Any) -> list[Record]:
    """One bisection record (min_worker or pod_size) as harness.run.recipes.min_worker
    writes it."""
    recs = with_figures(
        records(phase, 10, peak, 100, reps=1, **axes),
        min_limit_mib=limit,
        max_failing_limit_mib=failing,
        precision=round((limit - failing) / limit, 4),
        converged=True,
        unlimited_peak_mib=peak,
        probes=[
            {"limit_mib": None, "status": "ok", "peak_mib": peak, "wall_s": 100.0},
            {"limit_mib": limit, "status": "ok", "peak_mib": limit - 5, "wall_s": 101.0},
            {"limit_mib": failing, "status": "oom", "peak_mib": failing, "wall_s": 30.0},
        ],
    )
    return recs


def celery_records() -> list[Record]:
    return [
        *celery_run("LOCAL", LOCAL_WORKERS),
        *celery_run("WATCHER", WATCHER_WORKERS),
        *bisection(
            "min_worker",
            560,
            540,
            540.0,
            execution_mode="LOCAL",
            worker_concurrency=2,
            celery_workers=2,
            **CELERY,
        ),
        # A LocalExecutor bisection stays in the smallest-worker table of the load test.
        *bisection("min_worker", 800, 780, 790.0, execution_mode="LOCAL", **DBT),
    ]


def median2(a: float, b: float) -> float:
    return (a + b) / 2


def test_celery_worker_size_largest_sum_tasks_and_smallest(tmp_path: Path) -> None:
    md, page = both(tmp_path, celery_records())
    assert "### Celery worker size" in md
    rows = same_table(md, page, "celery-workers")
    by_mode = {r[1][0]: r for r in rows}
    local, watcher = by_mode["LOCAL"], by_mode["WATCHER"]
    assert local[4] == ["2"] and local[5] == ["2/2"]
    largest = [max(p for *_, p, _ in rep) for rep in LOCAL_WORKERS]
    total = [sum(p for *_, p, _ in rep) for rep in LOCAL_WORKERS]
    assert first_number(local[6][0]) == median2(*largest) == 520
    assert "n=2" in local[6][0]
    assert first_number(local[7][0]) == median2(*total) == 830
    assert local[8] == [
        "worker1 (tasks): 310 MiB, 11-12 tasks",
        "worker2 (tasks): 520 MiB, 8-9 tasks",
    ]
    assert local[9] == [f"20 / {DAG_TASKS}"]
    assert local[11] == ["560 MiB, fails at 540 MiB"]
    assert first_number(watcher[6][0]) == median2(700, 740)  # the producer is the largest
    assert watcher[11] == ["not measured"]

    services = same_table(md, page, "celery-services")
    by_mode = {r[1][0]: r for r in services}
    scheduler, *others = [first_number(c[0]) for c in by_mode["WATCHER"][5:9]]
    assert abs(scheduler - SCHEDULER) <= SCHEDULER * 0.02  # the records' jitter
    assert others == [median2(*BROKER), median2(*API_SERVER), median2(*TRIGGERER)]
    assert by_mode["LOCAL"][8] == ["-"]  # no triggerer without WATCHER

    (bis,) = same_table(md, page, "celery-min-worker")
    assert bis[4:7] == [["2"], ["2"], ["560 MiB"]]
    assert bis[7] == ["fails at 540 MiB: known to within 3.6%"]
    assert "Celery stack of these runs: celery 5.5.3, redis-server 7.0.15." in md
    # The LocalExecutor bisection is in the load test's table, the Celery one is not.
    (plain,) = md_rows(md, "| size | execution mode | invocation | load mode |")
    assert plain[6] == "**800 MiB**"
    # The summary names a Celery bisection's limit as each worker's, not the whole run's.
    assert "LOCAL, DBT_RUNNER, concurrency 4: 800 MiB" in md
    assert "concurrency 4, each Celery worker at worker_concurrency 2: 560 MiB" in md


def test_the_scheduler_figure_stays_apart_from_the_workers() -> None:
    (local,) = [r for r in wk.celery_runs(group_scenarios(celery_records())) if not r.watcher]
    assert local.largest is not None and local.total is not None
    assert local.largest.median == median2(500, 540) * MIB
    assert local.total.median == median2(800, 860) * MIB
    assert abs(local.services["scheduler"].median / MIB - SCHEDULER) < SCHEDULER * 0.03


def test_watcher_producer_and_sensors_workers_apart(tmp_path: Path) -> None:
    md, page = both(tmp_path, celery_records())
    (row,) = same_table(md, page, "celery-watcher")
    assert first_number(row[5][0]) == median2(700, 740)
    assert first_number(row[6][0]) == median2(210, 190)
    assert row[7] == ["worker1 (sensors): 200 MiB, 20 tasks", "producer: 720 MiB, 1 task"]
    assert row[8] == ["yes: 5 sensors deferred"]


def test_a_worker_killed_or_idle_is_flagged(tmp_path: Path) -> None:
    run = celery_run(
        "LOCAL",
        [
            [("worker1", "tasks", 300, 20), ("worker2", "tasks", 90, 0)],
            [("worker1", "tasks", 310, 20), ("worker2", "tasks", 95, 0)],
        ],
    )
    failed = [
        dataclasses.replace(r, status="oom", reason="worker1: oom")
        for r in with_figures(run[:1], workers=[worker("worker1", "tasks", 250, 3, "oom")])
    ]
    md, page = both(tmp_path, [*failed, run[1]])
    (row,) = same_table(md, page, "celery-workers")
    assert row[5] == ["1/2", "worker1: oom"]
    assert row[8] == [
        "worker1 (tasks): 310 MiB, 20 tasks (oom in 1)",
        "worker2 (tasks): 95 MiB, 0 tasks (ran no task: an idle worker's peak)",
    ]
    assert first_number(row[6][0]) == 310 and "n=1" in row[6][0]


# ---------------------------------------------------------------- task groups
LIMIT_S = 30.0
PARSE_AT = {0: (200, 2.0), 1: (210, 3.0), 10: (300, 12.0), 36: (600, 35.0)}
"""task groups -> (peak MiB, Airflow's parse seconds)."""
TASK_AT = {0: {"root": 350, "leaf": 380}, 36: {"root": 900, "leaf": 700}}


def parse_records() -> list[Record]:
    out = []
    for n, (mib, parse_s) in PARSE_AT.items():
        passed = parse_s >= LIMIT_S
        recs = records(
            "dag_parse",
            100,
            mib,
            parse_s + 4,
            reps=2,
            task_groups=n,
            status="error" if passed else "ok",
            **DBT,
        )
        out += with_figures(
            recs,
            tasks=200,
            parse_s=parse_s + 0.1,
            airflow_parse_s=parse_s,
            limits={"dagbag_import_timeout": LIMIT_S, "dag_file_processor_timeout": 50.0},
            timeout_margin={"dagbag_import_timeout": LIMIT_S - parse_s},
            timeout_flag="passed" if passed else ("near" if parse_s >= 0.8 * LIMIT_S else None),
        )
    return out


def with_role(recs: list[Record], role: str) -> list[Record]:
    """Records of the sampled task ``role``, id and axes as the runner makes them."""
    return [
        dataclasses.replace(
            r,
            scenario_id=f"{r.scenario_id.split('/task=')[0]}/task={role}",
            axes={**r.axes, "task_role": role},
        )
        for r in recs
    ]


def task_records() -> list[Record]:
    out = []
    for n, roles in TASK_AT.items():
        for role, mib in roles.items():
            out += with_role(records("task", 100, mib, 20, reps=3, task_groups=n, **DBT), role)
    return out


def test_task_groups_parse_and_task_against_the_number_of_groups(tmp_path: Path) -> None:
    md, page = both(tmp_path, [*parse_records(), *task_records()])
    assert "### Task groups sharing one manifest" in md
    rows = same_table(md, page, "task-groups-parse")
    assert [r[2] for r in rows] == [["none (one DbtDag)"], ["1"], ["10"], ["36"]]
    ok = rows[:3]
    for r, (mib, parse_s) in zip(ok, list(PARSE_AT.values())[:3], strict=True):
        assert r[3] == ["2/2"]
        assert abs(first_number(r[4][0]) - mib) <= mib * 0.02
        assert first_number(r[8][0]) == parse_s
        assert r[9] == ["30.0 s"]
        assert r[10][0].startswith(f"+{LIMIT_S - parse_s:.1f} s")
    assert abs(first_number(rows[2][5][0]) - 300 / 200) <= 0.05  # the records' 2% jitter
    passed = rows[3]
    assert passed[3] == ["0/2"] and passed[4] == ["failed"]
    assert passed[10] == [f"{LIMIT_S - 35.0:+.1f} s (passed)"]
    assert 'class="bad"><strong>-5.0 s (passed)' in page

    tasks = same_table(md, page, "task-groups-task")
    assert [(r[2], r[7]) for r in tasks] == [(["none (one DbtDag)"], ["leaf"]), (["36"], ["root"])]
    assert abs(first_number(tasks[1][4][0]) - 900) <= 900 * 0.02


# ---------------------------------------------------------------- pod size
def pod_records() -> list[Record]:
    out = []
    for mode, groups, limit, failing, peak in (
        ("LOCAL", 0, 410, 400, 420.0),
        ("WATCHER", 36, 980, 950, 1000.0),
    ):
        recs = bisection(
            "pod_size", limit, failing, peak, execution_mode=mode, task_groups=groups, **DBT
        )
        role = "producer" if mode == "WATCHER" else "root"
        out += with_role(recs, role)
    return out


def test_pod_size_per_configuration_with_its_bracket(tmp_path: Path) -> None:
    md, page = both(tmp_path, pod_records())
    assert "### Pod size per task" in md
    rows = same_table(md, page, "pod-size")
    got = {r[1][0]: (r[4], r[5], r[6], r[7], r[8]) for r in rows}
    assert got["LOCAL"] == (
        ["none (one DbtDag)"],
        ["root"],
        ["410 MiB"],
        ["fails at 400 MiB: known to within 2.4%"],
        ["420 MiB"],
    )
    assert got["WATCHER"] == (
        ["36"],
        ["producer"],
        ["980 MiB"],
        ["fails at 950 MiB: known to within 3.1%"],
        ["1000 MiB"],
    )


# ---------------------------------------------------------------- not measured
def test_each_section_says_not_measured_without_its_records(tmp_path: Path) -> None:
    local = records("dag_run", 10, 500, 60, reps=1, **DBT)
    md, page = both(tmp_path, local)
    assert "## Workers: Celery, task groups, pods" in md
    for line in (
        "Not measured: no dag_run or min_worker record ran on Celery.",
        "Not measured: no Celery dag_run under WATCHER.",
        "Not measured: no dag_parse or task record with task groups.",
        "Not measured: no pod_size record.",
    ):
        assert line in md and line in page
    assert not re.search(r'id="(celery-workers|task-groups-parse|pod-size)"', page)



def test_a_celery_run_is_left_out_of_the_guide_recommendations_and_plots(
    tmp_path: Path,
) -> None:
    """A Celery run's own peak is the scheduler loop's alone (SCHEDULER, 900 MiB): read
    as a whole run's memory it would be the lowest-memory pick against a 1500 MiB
    LocalExecutor run. Only the LocalExecutor run competes."""
    local = records("dag_run", 10, 1500.0, 60, reps=2, execution_mode="LOCAL", **DBT)
    celery = celery_run("LOCAL", [[("w1", "default", 500.0, 10)], [("w1", "default", 510.0, 10)]])
    md, _ = both(tmp_path, [*local, *celery])
    start = md.index("## Recommend")
    recommendations = md[start:md.index("\n## ", start + 1)]
    assert "| 10 models | 1 |" in recommendations, recommendations  # one configuration
    assert "900" not in recommendations and "celery" not in recommendations.lower()
    # Nor is it the answer's whole-run worker: that is the LocalExecutor run's.
    start = md.index("## The answer")
    answer = md[start:md.index("\n## ", start + 1)]
    (worker,) = re.findall(r"(\d+) MiB at concurrency 4", answer)
    assert 1400 < int(worker) < 1600, answer


# ---------------------------------------------------------------- the modules, one by one
def test_group_sweeps_order_points_and_read_the_parse_limits() -> None:
    (sweep,) = tg.group_sweeps(group_scenarios(parse_records()), "dag_parse")
    assert [p.groups for p in sweep.points] == [0, 1, 10, 36]
    assert [(p.n_ok, p.n) for p in sweep.points] == [(2, 2), (2, 2), (2, 2), (0, 2)]
    assert [p.limit_s for p in sweep.points] == [LIMIT_S] * 4
    assert sweep.points[1].margin_s == LIMIT_S - 3.0
    assert sweep.points[3].flags == ("passed", "passed")
    (task,) = tg.group_sweeps(group_scenarios(task_records()), "task")
    assert [(p.groups, p.role) for p in task.points] == [(0, "leaf"), (36, "root")]


def test_the_workers_section_holds_a_table_per_kind_of_worker() -> None:
    section = sections_workers.workers_section(group_scenarios(celery_records()))
    ids = [t.id for s in section.walk() for t in s.tables]
    assert {"celery-workers", "celery-min-worker"} <= set(ids), ids
    (table,) = [t for s in section.walk() for t in s.tables if t.id == "celery-min-worker"]
    assert [row[0].text for row in table.rows] == ["10 models"]
    empty = sections_workers.workers_section({})
    said = " ".join(p for s in empty.walk() for p in s.intro)
    assert "Not measured: no pod_size record." in said and not empty.walk().__next__().tables
