"""How a command ends when it is told to stop: SIGINT, SIGTERM (and SIGHUP) unwind the stack.

GitHub cancels a job with SIGINT, then SIGTERM, then SIGKILL. Python turns SIGINT into
``KeyboardInterrupt``; SIGTERM would end the process at once, skipping every ``finally`` (a
relaxed stack policy would stay relaxed). ``handle_termination`` makes SIGTERM and SIGHUP raise
``Terminated`` instead, and ``deferred`` holds those signals back while a short piece of cleanup
that must not be cut in half runs (restoring a stack policy). SIGKILL cannot be caught: what it
leaves is found by the next command (``status``, ``plan``, ``deploy``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (a BaseException, like KeyboardInterrupt: ``except Exception``
    must not swallow it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by the signal (128 + its number)."""
        return 128 + self.signum


def _raise(signum: int, frame: object) -> None:
    raise Terminated(signum)


def handle_termination() -> None:
    """SIGTERM and SIGHUP raise ``Terminated`` in the main thread (no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back until the block ends; they arrive after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
