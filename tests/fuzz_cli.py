"""The harness's command line called in-process, and what a call must leave behind:
shared by the property-based modules (tests/test_fuzz_inputs.py, tests/test_fuzz_runs.py)
and tests/test_user_files.py, which import this module rather than each other (issue 30)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, settings

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMOKE_RUN = ROOT / "tests" / "data" / "recorded-smoke"
SMOKE_LINES = (SMOKE_RUN / "results.jsonl").read_text().splitlines()
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))


def harness(argv: list[str]) -> tuple[int, str]:
    """Run the harness in-process: (exit code, stderr). An exception fails the test."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


def assert_clean_end(code: int, err: str, ok: tuple[int, ...] = (0,)) -> None:
    """Success, or one line and exit code 2; never a traceback."""
    assert "Traceback" not in err, err
    assert code in (*ok, 2), (code, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per example (hypothesis reuses a test's function-scoped fixtures)."""
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def snapshot(root: Path) -> dict[str, str]:
    """Every path under root -> the sha256 of its bytes ("dir" for a folder)."""
    return {
        str(p.relative_to(root)): "dir" if p.is_dir() else _digest(p)
        for p in sorted(root.rglob("*"))
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
