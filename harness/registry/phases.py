"""The phases: what is measured, each declared once.

A phase says which axes shape it (derived from the axes' own declarations), whether
it needs a project, whether Cosmos judges its combination before it runs, which
recipe of harness.run measures it, how the estimate prices it, which figures its
records keep, which report section shows it, and the version of its recipe's method.
PHASES is also the run order of a project's measurements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.registry import axes as ax
from harness.registry import figures as fg
from harness.registry import names as n
from harness.registry import pricing

Price = Callable[[Mapping[str, Any], int], float]
Roles = Callable[[Mapping[str, Any], int], list[str]]


def model_task_roles(values: Mapping[str, Any], n: int) -> list[str]:
    """The tasks the task phase samples, known before the DAG is parsed (for ids).

    Under WATCHER the producer runs dbt for the whole DAG and the model tasks are
    sensors that wait for it, so the producer is the task measured."""
    if values["execution_mode"] == "WATCHER":
        return ["producer"]
    return ["root", "middle", "leaf"][:n]


@dataclass(frozen=True)
class Phase:
    """One phase of the measurement."""

    name: str
    doc: str
    recipe: str
    """``module:function`` of harness.run that measures one repetition (it takes the
    runner's Context and returns an Outcome); a string, since the registry imports
    nothing of the steps above it."""
    price: Price
    figures: type[fg.Figures]
    report_section: str
    """The report section that shows it: guide (the memory guide's rows and the size
    plots), concurrency, min_worker, soak."""
    needs_project: bool = True
    cosmos_judged: bool = False
    """Ask Cosmos's config classes about the combination first (invalid ones are recorded
    with Cosmos's message instead of run)."""
    roles: Roles | None = None
    """A phase measured once per sampled role (the task phase)."""
    size_plot: bool = False
    """Drawn in the report's memory/time-against-models plots."""
    pareto: bool = False
    """A point of the report's memory-against-time Pareto plot."""
    artefacts: Callable[[Mapping[str, Any]], frozenset[str]] = pricing.no_artefacts
    """The project's shared artefacts a repetition reads (made once per run, priced by
    the estimate apart from the measurements)."""
    makes: frozenset[str] = frozenset()
    """Shared artefacts a successful repetition leaves for the phases that read them
    (it runs before them in its project, and the set-up does not make them again)."""
    priced_by: tuple[str, ...] = ()
    """Axes whose values the estimate's calibration keeps apart: where the prior's
    proportions between them are wrong (a whole LOCAL run against a WATCHER one, the
    WATCHER producer by dbtRunner against a subprocess), one recorded outlier would
    otherwise scale all of the phase's prices at that size."""
    method_version: int = 1
    """The version of the recipe's method, written into every record it measures
    (``Record.method_version``); `harness compare` leaves out of its verdict a scenario
    whose two runs measured it by different versions. Raise it when a change of the
    recipe changes what its figures mean (what is measured, or how a bisection decides),
    not for a new axis with a ``quiet_default`` (the old figures keep their meaning).
    Version 1 is each recipe as it stood when versions were introduced (record schema
    3); records written before carry 1 by migration (harness.store.migrate)."""

    @property
    def axes(self) -> tuple[str, ...]:
        """The axes that shape it, in id order."""
        return tuple(a.name for a in ax.AXES.values() if self.name in a.phases)


_TASK_KEY = ("execution_mode", "execution_invocation")
_RUN_KEY = ("execution_mode", "executor")

PHASES: dict[str, Phase] = {
    p.name: p
    for p in (
        Phase(n.IMPORT, "a fresh interpreter imports Airflow and Cosmos, as a DAG file does",
              "harness.run.recipes.imports:run_import", pricing.import_s, fg.ImportFigures,
              "guide", needs_project=False),
        Phase(n.PARSE, "the DAG processor's cost: a fresh process parses the DAG file",
              "harness.run.recipes.parse:run_dag_parse", pricing.parse_s, fg.ParseFigures,
              "guide", cosmos_judged=True, size_plot=True, pareto=True,
              artefacts=pricing.dag_artefacts, priced_by=("load_mode",)),
        Phase(n.TASK, "one model task as a worker runs it (`airflow tasks test`)",
              "harness.run.recipes.task:run_task", pricing.task_s, fg.TaskFigures, "guide",
              cosmos_judged=True, roles=model_task_roles, size_plot=True, pareto=True,
              artefacts=pricing.task_artefacts, priced_by=_TASK_KEY),
        Phase(n.DAG_RUN, "the whole DAG through the real LocalExecutor",
              "harness.run.recipes.dag_run:run_dag_run", pricing.dag_run_s,
              fg.DagRunFigures, "concurrency", cosmos_judged=True, size_plot=True, pareto=True,
              artefacts=pricing.dag_artefacts, priced_by=_RUN_KEY),
        Phase(n.BASELINE, "plain `dbt build` of the same project, without Airflow",
              "harness.run.recipes.baseline:run_dbt_baseline", pricing.baseline_s,
              fg.BaselineFigures, "guide", size_plot=True, makes=frozenset({"built"})),
        Phase(n.SOAK, "model tasks one after another in one long-lived process",
              "harness.run.recipes.soak:run_soak", pricing.soak_s, fg.SoakFigures, "soak",
              artefacts=pricing.soak_artefacts),
        Phase(n.MIN_WORKER, "bisection of the smallest worker limit a whole DAG run needs",
              "harness.run.recipes.min_worker:run_min_worker", pricing.min_worker_s,
              fg.MinWorkerFigures, "min_worker", cosmos_judged=True,
              artefacts=pricing.dag_artefacts, priced_by=_RUN_KEY),
        Phase(ax.POD_SIZE, "bisection of the smallest memory limit one task process needs, DAG "
              "re-import included (a KubernetesExecutor pod)",
              "harness.run.recipes.min_worker:run_pod_size", pricing.pod_size_s,
              fg.PodSizeFigures, "min_worker", cosmos_judged=True, roles=model_task_roles,
              artefacts=pricing.task_artefacts, priced_by=_TASK_KEY),
    )
}  # fmt: skip


def phase(name: str) -> Phase:
    """The declaration of phase ``name`` (KeyError for an unknown one)."""
    return PHASES[name]
