"""Stop signals that are kept as well as raised.

Python runs a signal's handler in the main thread between two bytecodes, wherever that
thread is, and an exception raised inside a finalizer (a ``__del__``, a weakref
callback: the garbage collector runs them at any allocation) is printed as "Exception
ignored in ..." and dropped. A Ctrl-C or SIGTERM raised only as an exception can be
lost that way, and the run goes on to its end as if never stopped. Twice under the full
test suite's load a stop was lost (a run SIGTERMed after its first record went on to exit
0; a `harness measure` given SIGINT waited for its command); a finalizer is the likely
place, not shown. So the handler also keeps the stop, and the long waits of the main
thread (a measurement's wait for its command, the runner between measurements) raise it
again with ``raise_pending``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

Make = Callable[[int], BaseException]
"""The exception a stop signal raises, from its number."""

_pending: list[BaseException] = []


def keyboard_interrupt(signum: int) -> BaseException:
    """The stop of Ctrl-C, whatever the signal: the callers unwind on KeyboardInterrupt."""
    return KeyboardInterrupt()


def keep_and_raise(make: Make) -> Callable[[int, FrameType | None], None]:
    """A signal handler that raises ``make(signum)`` and keeps it for ``raise_pending``."""

    def handler(signum: int, frame: FrameType | None) -> None:
        exc = make(signum)
        _pending[:] = [exc]
        raise exc

    return handler


def install(signals: Iterable[int], make: Make) -> dict[int, Any]:
    """Make each of ``signals`` stop the main thread with ``make``; the handlers before,
    for ``restore``."""
    previous = {}
    for sig in signals:
        previous[sig] = signal.signal(sig, keep_and_raise(make))
    return previous


def restore(previous: dict[int, Any]) -> None:
    """Put the handlers back and forget a stop not raised again (the caller has ended)."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    _pending.clear()


def raise_pending() -> None:
    """In the main thread: raise a kept stop once more, and forget it (once is enough:
    if the handler's own raise was not lost, the stop is already unwinding)."""
    if _pending and threading.current_thread() is threading.main_thread():
        exc = _pending.pop()
        raise exc.with_traceback(None)
