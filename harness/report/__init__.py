"""The report of a run: the memory guide measured, recommendations, Cosmos's cost over
plain dbt, failures, environment and figures, as markdown and self-contained HTML.

Reads only from harness.store, harness.scenarios and harness.compare.
"""

from harness.report.render import write_report, write_runs_report

__all__ = ["write_report", "write_runs_report"]
