"""The report of a run laid out: the memory guide measured, recommendations, Cosmos's
cost over plain dbt, failures, environment and plots, as markdown and self-contained HTML.

What the report says is computed before it is laid out, by harness.guide and
harness.verdicts from the records harness.compare and harness.store read; this package
builds the sections, renders them and writes the files.
"""

from harness.report.render import write_report, write_runs_report

__all__ = ["write_report", "write_runs_report"]
