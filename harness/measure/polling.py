"""A daemon thread that calls a poll at a fixed interval and measures its own CPU.

The timing half of the sampler (sampler.py holds what a poll reads): a poll
that falls behind is counted and not made up in a burst, a failing poll is
logged once and never ends the measurement, and the thread's CPU time
(wake-ups included) is kept for the result.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class PollingThread:
    """Calls :meth:`_poll` every ``interval_s`` in a daemon thread, from :meth:`start`
    until :meth:`_stop_thread`."""

    def __init__(self, interval_s: float, name: str) -> None:
        self.interval_s = interval_s
        self.late_polls = 0
        """Polls that started later than their slot (a slow poll or a busy machine)."""
        self._name = name
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._errors = 0
        self._thread_cpu_s = 0.0

    def _poll(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start polling in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _stop_thread(self) -> None:
        """Ask the thread to end and wait for it (one interval at most)."""
        self._stopping = True
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        start_cpu = time.thread_time()
        try:
            self._loop()
        finally:
            self._thread_cpu_s = time.thread_time() - start_cpu

    def _loop(self) -> None:
        next_t = time.monotonic()
        while not self._stopping:
            try:
                self._poll()
            except Exception:  # a poll must never kill the measurement; log once
                self._errors += 1
                if self._errors == 1:
                    log.exception("%s poll failed", self._name)
            next_t += self.interval_s
            delay = next_t - time.monotonic()
            if delay < 0:  # fell behind (a slow poll or a busy machine): do not burst
                self.late_polls += 1
                next_t = time.monotonic()
                delay = 0.0
            # time.sleep, not Event.wait: each wake-up of an Event costs this thread
            # about 65 us of CPU here against 40 us; stop() waits one interval at most.
            time.sleep(delay)
