"""Which measurements fit a time budget, in the order of what answers most.

The plan is an ordinary scenario file (its TOML text is kept in the run folder): a
cold parse per load mode, one task per execution mode and invocation, a whole DAG
run per execution mode at concurrency 1, 2 and 4; each measurement is kept while the
estimated total fits the budget. The smallest worker is planned after the DAG runs,
for the best of them, if the time left allows (min_worker_matrix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UsageError
from harness.run.estimate import estimate_s, setup_estimate_s
from harness.run.runner import Unit, units_of
from harness.scenarios import expand
from harness.scenarios.scenario_file import ScenarioFile, parse_scenarios

PARSE_MODES = ("DBT_LS", "DBT_MANIFEST", "DBT_LS_FILE")
RUN_MODES = ("LOCAL", "WATCHER")
INVOCATIONS = ("DBT_RUNNER", "SUBPROCESS")
CONCURRENCIES = (1, 2, 4)
RUN_LOAD_MODE = "DBT_MANIFEST"
"""Tasks and DAG runs render from a manifest: the parse's cost is measured on its own."""
SETUP_S = 60.0
"""Airflow's database migration, Cosmos's check of the combinations, copying the project
(the project's dbt parse, dbt ls and dbt build are priced by the estimate's set-up)."""
TIMEOUT_S = 1800


def parse_budget(text: str) -> float:
    """'30m', '90s', '1h', '1h30m' or a bare number of minutes -> seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text) * 60
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise UsageError(f"--budget: expected a duration such as 30m, 90s or 1h, got {text!r}")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


@dataclass(frozen=True)
class Target:
    """The user's project as advise measures it."""

    path: Path
    profile: str
    prepare: str | None

    def defaults(self) -> dict[str, Any]:
        """The scenario file's [defaults]."""
        out: dict[str, Any] = {"project": str(self.path), "profile": self.profile}
        if self.prepare:
            out["prepare"] = self.prepare
        return out


def base_matrices(worker: Worker | None = None) -> list[dict[str, Any]]:
    """Every matrix of the plan before the budget is applied, most useful first: the
    parses, then the worker asked for (if any) before the tasks, else the tasks and a
    LocalExecutor DAG run at concurrency 1, 2 and 4."""
    run = {"load_mode": RUN_LOAD_MODE, "execution_mode": list(RUN_MODES)}
    parse = {"name": "parse", "phases": ["dag_parse"], "load_mode": list(PARSE_MODES)}
    task = {"name": "task", "phases": ["task"], **run, "execution_invocation": list(INVOCATIONS)}
    if worker is not None:
        return [parse, *worker.matrices(run), task]
    return [parse, task] + [
        {"name": f"dag_run_c{c}", "phases": ["dag_run"], **run, "concurrency": c}
        for c in CONCURRENCIES
    ]


@dataclass(frozen=True)
class Worker:
    """The worker the user runs: `--executor` and `--worker-concurrency`."""

    executor: str
    slots: int
    models: int
    """The project's models (count_models), which decides whether a slice is run."""

    @property
    def run_nodes(self) -> int:
        """A run of 2 x slots models of the project (harness.stack.selection) where the
        project has more than twice that; else the whole DAG run."""
        return 2 * self.slots if self.models > 4 * self.slots else 0

    def matrices(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """The worker's DAG run at its slots (none for a pod: a task is a pod)."""
        if self.executor == "pod":
            return []
        name = f"worker_{self.executor}_k{self.slots}"
        table: dict[str, Any] = {"name": name, "phases": ["dag_run"], **run,
                                 "run_nodes": self.run_nodes}  # fmt: skip
        if self.executor == "celery":
            table |= {"executor": "celery", "worker_concurrency": self.slots,
                      "celery_workers": 1, "concurrency": max(self.slots, 4)}  # fmt: skip
        else:
            table["concurrency"] = self.slots
        return [table]


def count_models(project: Path) -> int:
    """The project's models: the .sql and .py files under its model-paths (dbt_project.yml;
    "models" by default). A count of files, not of dbt's nodes (a disabled model counts)."""
    try:
        spec = yaml.safe_load((project / "dbt_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        spec = {}
    paths = spec.get("model-paths") or ["models"] if isinstance(spec, dict) else ["models"]
    return sum(
        1 for folder in paths for f in (project / str(folder)).rglob("*")
        if f.suffix in (".sql", ".py") and f.is_file()
    )  # fmt: skip


def scenario_file(target: Target, matrices: list[dict[str, Any]], where: Path) -> ScenarioFile:
    """The plan as a validated scenario file (its text is what the run folder keeps)."""
    data = {
        "description": f"harness advise {target.path}",
        "timeout_s": TIMEOUT_S,
        "task_sample": 1,
        "bisect_steps": 6,
        "defaults": target.defaults(),
        "matrix": matrices,
    }
    return parse_scenarios(data, where, to_toml(data))


def to_toml(data: dict[str, Any]) -> str:
    """The plan's TOML text (strings, numbers, lists; one [defaults], [[matrix]] tables)."""
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if k not in ("defaults", "matrix")]
    lines += ["", "[defaults]"] + [f"{k} = {_value(v)}" for k, v in data["defaults"].items()]
    for table in data["matrix"]:
        lines += ["", "[[matrix]]"] + [f"{k} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(v)


@dataclass
class Plan:
    """The measurements that fit, and those the budget left out."""

    spec: ScenarioFile
    units: list[Unit]
    left_out: list[Unit]
    estimate_s: float


def fit(spec: ScenarioFile, budget_s: float) -> Plan:
    """Keep each unit, in plan order, while the estimated total fits ``budget_s``."""
    units = units_of(expand(spec), spec.task_sample)
    # The plan's order is its matrices' (most useful first), not the runner's phase order.
    order = {m.name: i for i, m in enumerate(spec.matrices)}
    units.sort(key=lambda u: order.get(u.measurement.matrix, len(order)))
    kept: list[Unit] = []
    left: list[Unit] = []
    total = SETUP_S
    made = 0.0
    for u in units:
        # A unit may need a shared artefact (manifest, built warehouse) none before it did.
        with_u = setup_estimate_s([k.measurement for k in (*kept, u)])
        cost = estimate_s(u.measurement) + with_u - made
        if total + cost <= budget_s:
            kept.append(u)
            total += cost
            made = with_u
        else:
            left.append(u)
    if not kept:
        first = estimate_s(units[0].measurement) + SETUP_S
        first += setup_estimate_s([units[0].measurement])
        raise UsageError(
            f"--budget: {budget_s / 60:.1f} min is too small: the first measurement alone "
            f"needs about {first / 60:.1f} min"
        )
    return Plan(spec, kept, left, total)


def min_worker_matrix(best: dict[str, Any]) -> dict[str, Any]:
    """The smallest-worker bisection of the best whole DAG run's configuration."""
    keys = ("load_mode", "execution_mode", "concurrency")
    return {"name": "min_worker", "phases": ["min_worker"], **{k: best[k] for k in keys}}
