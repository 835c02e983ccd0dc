"""Compare two runs: per scenario and metric the ratio NEW/BASE, its significance over the
repetitions and a verdict; tables for the terminal and for CI summaries; pytest-benchmark JSON.

Reads only from harness.store and harness.scenarios (the flow never reaches back).
"""

from harness.compare.diff import Comparison, Thresholds, compare_runs
from harness.compare.runs import RunData, load_run, resolve_run

__all__ = ["Comparison", "RunData", "Thresholds", "compare_runs", "load_run", "resolve_run"]
