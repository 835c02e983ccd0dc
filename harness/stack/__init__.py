"""Adapters to the stack under test: Airflow's services and metadata database, the
CeleryExecutor, the scenario's DAG file, dbt's own log, the project and its workspace,
and the side environment with another Cosmos release. Nothing here imports the runner."""
