"""The phases' names, and groups of them by what the phase does.

Code that means one phase names it through these constants (``PARSE``, ``DAG_RUN``),
so a phase's name is written once; harness.registry.phases declares the phases.
"""

IMPORT = "import"
PARSE = "dag_parse"
TASK = "task"
DAG_RUN = "dag_run"
BASELINE = "dbt_baseline"
SOAK = "soak"
MIN_WORKER = "min_worker"
POD_SIZE = "pod_size"
BUILDS_DAG = frozenset({PARSE, TASK, DAG_RUN, MIN_WORKER, POD_SIZE})
"""Phases that write and parse the scenario's DAG file."""
RUNS_TASKS = frozenset({TASK, DAG_RUN, MIN_WORKER, POD_SIZE})
"""Phases that run Cosmos operators through Airflow."""
