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

from harness.errors import UsageError
from harness.run.estimate import estimate_s, setup_estimate_s
from harness.run.runner import Unit, units_of
from harness.scenarios import expand
from harness.scenarios.load import ScenarioFile, parse_scenarios

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


def base_matrices() -> list[dict[str, Any]]:
    """Every matrix of the plan before the budget is applied, most useful first."""
    run = {"load_mode": RUN_LOAD_MODE, "execution_mode": list(RUN_MODES)}
    out: list[dict[str, Any]] = [
        {"name": "parse", "phases": ["dag_parse"], "load_mode": list(PARSE_MODES)},
        {"name": "task", "phases": ["task"], **run, "execution_invocation": list(INVOCATIONS)},
    ]
    out += [{"name": f"dag_run_c{c}", "phases": ["dag_run"], **run, "concurrency": c}
            for c in CONCURRENCIES]  # fmt: skip
    return out


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
