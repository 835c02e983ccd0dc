"""Build target/partial_parse.msgpack with `dbt parse` and the runtime profile, as a
deployment image ships it (partial_parse_state "shipped").

Usage: python -m harness.run.probes.ship_msgpack PROFILE_MODULE PROJECT_DIR DBT
PROFILE_MODULE defines ``profile_config`` as the DAG file does; Cosmos's own
ProfileConfig.ensure_profile() writes the profile the tasks will run with, so dbt
does not reject the msgpack with "profile has changed".
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys


def main(profile_module: str, project_dir: str, dbt: str) -> int:
    """Run `dbt parse` into PROJECT_DIR/target with the runtime profile; dbt's exit code."""
    config = runpy.run_path(profile_module)["profile_config"]
    with config.ensure_profile() as (profile_path, env_vars):
        cmd = [
            dbt, "parse", "--project-dir", project_dir, "--profiles-dir", str(profile_path.parent),
            "--profile", config.profile_name, "--target", config.target_name,
            "--target-path", os.path.join(project_dir, "target"),
        ]  # fmt: skip
        return subprocess.run(cmd, env={**os.environ, **env_vars}, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
