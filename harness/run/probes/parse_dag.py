"""Parse one DAG file the way the DAG processor does (a DagBag) and report it as JSON.

Usage: python -m harness.run.probes.parse_dag DAG_FILE OUT_JSON
Exit code 0 when the file yields at least one DAG, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
import time


def limits() -> dict[str, float]:
    """Airflow's parse limits in force: a file whose parse passes them fails in a
    deployment (the DagBag's import timeout, the DAG processor's timeout)."""
    from airflow.configuration import conf

    return {
        "dagbag_import_timeout": conf.getfloat("core", "dagbag_import_timeout"),
        "dag_file_processor_timeout": conf.getfloat("dag_processor", "dag_file_processor_timeout"),
    }


def main(dag_file: str, out: str) -> int:
    """Parse ``dag_file``; write dag ids, task ids, dependencies and import errors to ``out``."""
    t0 = time.perf_counter()
    import airflow  # noqa: F401  (airflow first: cosmos.constants before it is a circular import)
    from airflow.dag_processing.dagbag import DagBag

    t_import = time.perf_counter() - t0
    bag = DagBag(dag_folder=dag_file)
    report = {
        "import_s": t_import,
        "parse_s": time.perf_counter() - t0 - t_import,
        # The parse time Airflow itself reports (DagBag's FileLoadStat of the file).
        "airflow_parse_s": sum(s.duration.total_seconds() for s in bag.dagbag_stats) or None,
        "limits": limits(),
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dags": {
            dag_id: {
                "tasks": {
                    t.task_id: {
                        "operator": type(t).__name__,
                        "upstream": sorted(t.upstream_task_ids),
                        **_dbt_node(t),
                    }
                    for t in dag.tasks
                }
            }
            for dag_id, dag in bag.dags.items()
        },
    }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(report, fh)
    return 0 if bag.dags else 1


def _dbt_node(task: object) -> dict[str, object]:
    """The dbt node a Cosmos task runs (its resource type, id and dbt dependencies), so
    that tasks can be told apart by the model graph rather than by name."""
    node = (getattr(task, "extra_context", None) or {}).get("dbt_node_config") or {}
    if not node:
        return {}
    return {
        "resource_type": node.get("resource_type"),
        "unique_id": node.get("unique_id"),
        "depends_on": list(node.get("depends_on") or []),
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
