"""harness.measure.interrupt: a stop signal whose exception Python drops (raised inside a
finalizer) is kept, and the measurement in progress ends on it all the same."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.measure import interrupt
from harness.measure.core import measure

SIG = signal.SIGUSR1


@pytest.fixture
def stop_on_sig() -> Iterator[None]:
    previous = interrupt.install([SIG], interrupt.keyboard_interrupt)
    try:
        yield
    finally:
        interrupt.restore(previous)


class _SignalledWhileFinalized:
    """Sends SIG to this process from its __del__: the handler runs there, and Python
    drops the KeyboardInterrupt it raises ("Exception ignored in ...")."""

    def __del__(self) -> None:
        os.kill(os.getpid(), SIG)
        for _ in range(10_000):  # bytecodes, between which the handler runs
            pass


def _lose_a_stop() -> None:
    _SignalledWhileFinalized()  # dropped at once: its __del__ runs here
    # reaching this line is the loss: without the kept stop the caller would go on


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_stop_lost_in_a_finalizer_is_raised_again_once(stop_on_sig: None) -> None:
    _lose_a_stop()
    with pytest.raises(KeyboardInterrupt):
        interrupt.raise_pending()
    interrupt.raise_pending()  # once: the next call has nothing to raise


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_lost_stop_ends_the_measurement_in_progress(stop_on_sig: None, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    _lose_a_stop()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        measure(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"])
    assert time.monotonic() - started < 30
    # On a loaded machine the stop can end the tree before sh wrote its pid: then no
    # `sleep 60` of ours may be left either way.
    left = [p for p in psutil.Process().children(recursive=True)
            if p.status() != psutil.STATUS_ZOMBIE and "sleep" in p.name()]  # fmt: skip
    assert left == []
    if pidfile.exists() and pidfile.read_text().strip():
        pid = int(pidfile.read_text())
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_restore_puts_the_handlers_back_and_forgets_the_stop() -> None:
    before = signal.getsignal(SIG)
    previous = interrupt.install([SIG], interrupt.keyboard_interrupt)
    with pytest.raises(KeyboardInterrupt):
        signal.getsignal(SIG)(SIG, None)  # type: ignore[operator]
    interrupt.restore(previous)
    assert signal.getsignal(SIG) == before
    interrupt.raise_pending()  # nothing kept
