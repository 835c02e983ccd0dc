"""Airflow's own parse limits: recorded by the parse probe, and a parse past them flagged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.run.recipes.parse_probe import killed_by_processor, timeout_margins
from harness.stack.workspace import airflow_env

SLOW_DAG = '''"""An airflow dag file whose import sleeps past the DagBag's import timeout."""
import time

time.sleep(6)
'''


def test_margins_and_flags() -> None:
    limits = {"dagbag_import_timeout": 30.0, "dag_file_processor_timeout": 50.0}
    clear = timeout_margins({"limits": limits, "airflow_parse_s": 10.0, "import_s": 3.0})
    assert clear["timeout_margin"] == {
        "dagbag_import_timeout": 20.0,
        "dag_file_processor_timeout": 40.0,
    }
    assert clear["timeout_flag"] is None
    near = timeout_margins({"limits": limits, "airflow_parse_s": 25.0})
    assert near["timeout_flag"] == "near"  # 25 s is 83% of 30 s
    passed = timeout_margins({"limits": limits, "airflow_parse_s": 42.0, "import_s": 3.0})
    assert passed["timeout_flag"] == "passed"
    assert passed["timeout_margin"] == {
        "dagbag_import_timeout": -12.0,
        "dag_file_processor_timeout": 8.0,
    }
    assert timeout_margins({"parse_s": 1.0}) == {}


def test_an_import_that_outlived_the_processor_timeout_is_an_error() -> None:
    """Seen at 100 models with DBT_LS and 10 groups: the import finished after 52.5 s,
    no import error (the 30 s alarm never fired), yet the DAG processor kills its file
    processor at 50 s: not a successful parse."""
    limits = {"dagbag_import_timeout": 30.0, "dag_file_processor_timeout": 50.0}
    late = timeout_margins({"limits": limits, "airflow_parse_s": 52.5})
    reason = killed_by_processor({"airflow_parse_s": 52.5, **late})
    assert reason is not None and "52.5 s, past Airflow's dag_file_processor_timeout" in reason
    within = timeout_margins({"limits": limits, "airflow_parse_s": 42.0})
    assert killed_by_processor({"airflow_parse_s": 42.0, **within}) is None
    assert killed_by_processor({"parse_s": 1.0}) is None


def test_a_parse_past_the_import_timeout_is_flagged(tmp_path: Path) -> None:
    """A real DagBag under dagbag_import_timeout = 2 s parses a file that sleeps 6 s."""
    dag = tmp_path / "slow_dag.py"
    dag.write_text(SLOW_DAG)
    (tmp_path / "tmp").mkdir()
    env = airflow_env(tmp_path / "home", tmp=tmp_path / "tmp")
    env["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "2"
    out = tmp_path / "parse.json"
    cmd = [sys.executable, "-m", "harness.run.probes.parse_dag", str(dag), str(out)]
    subprocess.run(cmd, env=env, timeout=300, check=False, capture_output=True)
    report = json.loads(out.read_text())
    assert report["limits"] == {"dagbag_import_timeout": 2.0, "dag_file_processor_timeout": 50.0}
    assert any("DagBag import timeout" in e for e in report["import_errors"].values())
    figures = timeout_margins(report)
    assert figures["timeout_flag"] == "passed"
    assert figures["timeout_margin"]["dagbag_import_timeout"] <= 0.5
