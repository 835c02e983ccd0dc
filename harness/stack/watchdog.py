"""Watching a running `airflow dags test`: the shutdown watchdog and the listening check."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import psutil

from harness.stack.airflow_db import DAG_ID, dag_run_state, newest_dag_run_id
from harness.stack.services import end_tree

SHUTDOWN_GRACE_S = 30.0


class ShutdownWatchdog(threading.Thread):
    """Ends `airflow dags test` when its DagRun has finished but the CLI does not exit.

    Seen here: after "DagRun Finished", LocalExecutor.end() sometimes waits forever
    on a worker (the CLI logs "Shutting down LocalExecutor; waiting for running
    tasks to finish" and nothing more). The run's work is done, so the harness
    ends the tree after a grace period and says so in the record.

    ``broken`` (a Celery run's Cluster.exited) names a service the run needs that has
    ended, e.g. a worker OOM-killed under min_worker's limit: its queued tasks would
    wait for a worker until the timeout, so the scheduler loop is ended at once.
    """

    def __init__(
        self, db: Path, grace_s: float, broken: Callable[[], str | None] | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.db, self.grace_s, self.broken = db, grace_s, broken
        self.broke: str | None = None
        """The service whose end stopped the run, if one did."""
        # Only a run started after this one counts (min_worker reuses the database).
        self.after_id = newest_dag_run_id(db)
        self.stop = threading.Event()
        self.ended_tree = False
        self.listening: set[str] = set()
        """Every address a process of the harness listened on during the run."""

    def run(self) -> None:
        while not self.stop.wait(2.0):
            self.listening |= listening_addresses()
            if self.broken is not None and (broke := self.broken()) is not None:
                self.broke = broke
                _end_dags_test()
                return
            if dag_run_state(self.db, self.after_id) in ("success", "failed"):
                if self.stop.wait(self.grace_s):
                    return
                self.ended_tree = _end_dags_test()
                return


def listening_addresses() -> set[str]:
    """host:port of every listening TCP socket of this process's descendants."""
    found = set()
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            for c in proc.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN and c.laddr:
                    found.add(f"{c.laddr.ip}:{c.laddr.port}")
    return found


def _end_dags_test() -> bool:
    ended = False
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmd = proc.cmdline()
            if "dags" in cmd and "test" in cmd and DAG_ID in cmd:
                end_tree(proc, grace_s=5)
                ended = True
    return ended
