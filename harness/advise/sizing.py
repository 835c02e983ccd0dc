"""The worker size in `harness advise`'s answer: measured on the user's project where the
plan measured that worker, else predicted by the sizing model (harness.size) fitted on
the committed runs of synthetic projects, and said to be so."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.compare.runs import current_of, load_run
from harness.size.answer import MARGIN, Request, round_up, size_one
from harness.size.deployments import PRODUCER_TASK, Deployment, deployments_for, measures, named
from harness.size.model import Prediction
from harness.store.jsonl import RESULTS_FILE
from harness.store.record import Record

BASELINES = Path(__file__).resolve().parents[2] / "results" / "baselines"
"""The committed runs of this checkout the model is fitted from, wherever advise runs
(the run folder's own records are not: they measure the user's project, not the
synthetic ones the model describes)."""


@dataclass(frozen=True)
class WorkerSize:
    """One deployment's size for the user's project."""

    deployment: str
    mode: str
    give_mib: int | None
    basis: str
    """"measured on your project" or "from the model (...)"; "not answered"."""
    measured_mib: list[float]
    prediction: Prediction | None
    model_runs: list[str]


def _measuring(d: Deployment, records: list[Record], mode: str, slots: int) -> list[Record]:
    # The user's project is not the sizing configuration's: every setting counts.
    return [
        r for r in records
        if r.status == "ok" and measures(d, r, mode, config=False) and d.slots_of(r) == slots
    ]  # fmt: skip


def _measured(d: Deployment, records: list[Record], mode: str, slots: int) -> list[float]:
    return [peak for r in _measuring(d, records, mode, slots) for peak in d.peaks(r)]


def producer_floor(
    d: Deployment, records: list[Record], mode: str, slots: int
) -> list[float] | None:
    """The peaks of WATCHER's producer as one task on the user's project (empty: not
    measured), where ``d`` holds the producer and only run_nodes slices measured it
    (their producer builds the slice alone: Deployment.holds_producer); else None."""
    if not d.sliced_producer(mode, _measuring(d, records, mode, slots)):
        return None
    return _measured(named(PRODUCER_TASK), records, mode, 1)


def baseline_records(root: Path = BASELINES) -> list[Record]:
    """The committed runs' records an answer across them uses (harness.store.current)."""
    folders = sorted(p for p in root.glob("*") if (p / RESULTS_FILE).is_file())
    return current_of([load_run(folder) for folder in folders]).records


def worker_sizes(
    records: list[Record], executor: str, slots: int, models: int, model_records: list[Record]
) -> list[WorkerSize]:
    """Each deployment of ``executor`` at ``slots``, LOCAL and WATCHER, for a project of
    ``models`` models: measured in ``records`` (the user's run) where it was."""
    out = []
    for mode in ("LOCAL", "WATCHER"):
        for d in deployments_for(executor, mode):
            peaks = _measured(d, records, mode, slots if d.slots_axis else 1)
            sized = size_one(d, model_records, Request(models, executor, slots, mode))
            floor = producer_floor(d, records, mode, slots if d.slots_axis else 1)
            if peaks and floor and max(floor) > max(peaks):
                give: float | None = max(floor) * (1 + MARGIN)
                basis = ("measured on your project: at least WATCHER's producer's own task "
                         "(your DAG run was a run_nodes slice, whose producer builds the "
                         "slice alone)")  # fmt: skip
            elif peaks:
                give = max(peaks) * (1 + MARGIN)
                basis = "measured on your project"
                if floor == []:
                    basis += (" (a lower bound: your DAG run was a run_nodes slice, whose "
                              "producer builds the slice alone, and the producer's own task "
                              "was not measured)")  # fmt: skip
            elif sized.prediction is not None:
                give = sized.give_mib
                kind = "extrapolated" if sized.prediction.extrapolated else "predicted"
                basis = (f"from the sizing model at {models} models ({kind} from synthetic "
                         "projects, not measured on yours)")  # fmt: skip
                if sized.raised_to_producer:
                    basis += ("; at least WATCHER's producer's own task there, since the "
                              "model's runs were run_nodes slices")  # fmt: skip
            else:
                give, basis = None, "not answered: not measured, and no model for it"
            rounded = round_up(give) if give else None
            out.append(WorkerSize(d.name, mode, rounded, basis, sorted(round(p, 1) for p in peaks),
                                  sized.prediction, sized.sources))  # fmt: skip
    return out


def render(sizes: list[WorkerSize], executor: str, slots: int, models: int) -> list[str]:
    """The answer's "Worker size" section, as markdown lines."""
    what = {"local": f"LocalExecutor at parallelism {slots}",
            "celery": f"a Celery worker at worker_concurrency {slots}",
            "pod": "a pod per task"}[executor]  # fmt: skip
    out = [f"## Worker size: {what} ({models} models)", ""]
    for s in sizes:
        give = f"{s.give_mib} MiB" if s.give_mib else "no size"
        line = f"- {s.deployment}, {s.mode}: give **{give}**, {s.basis}"
        if s.measured_mib:
            line += f" (peaks {', '.join(f'{m:.0f}' for m in s.measured_mib)} MiB)"
        elif s.prediction is not None and s.prediction.low_mib is not None:
            p = s.prediction
            line += (f" (model {p.mib:.0f} MiB, 95% interval {p.low_mib:.0f}-"
                     f"{p.high_mib or 0:.0f}; from {', '.join(s.model_runs)})")  # fmt: skip
        out.append(line)
    out += ["", f"A size is the largest peak (or the model's upper 95% bound) plus "
            f"{MARGIN:.0%} for run-to-run spread. `harness size --validate` shows the "
            "model's error at each measured size.", ""]  # fmt: skip
    return out

