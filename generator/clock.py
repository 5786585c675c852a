"""Time as every wait sees it: a clock (tests pass a fake), one ``Deadline`` and one ``poll``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """Time as the waits see it; tests pass a fake that advances on ``sleep``."""

    def now(self) -> float:
        """Seconds since an arbitrary origin."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        time.sleep(seconds)


class Deadline:
    """A point in a clock's time that several waits share (``seconds`` from when it was set)."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds
        self.start = clock.now()
        self.at = self.start + seconds

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - self.clock.now())

    def expired(self, now: float | None = None) -> bool:
        """Whether the deadline has passed (at ``now``, else the clock's current time)."""
        return (self.clock.now() if now is None else now) >= self.at


def poll(
    deadline: Deadline,
    interval: float,
    check: Callable[[], T | None],
    timed_out: Callable[[float], Exception],
    between: Callable[[float], None] | None = None,
) -> T:
    """Call ``check`` until it returns a value; raise ``timed_out(now)`` once the deadline passed.

    Between attempts ``between(now)`` runs (a heartbeat, say), then the clock sleeps ``interval``.
    ``check`` may raise to end the wait early (a failed operation).
    """
    while True:
        result = check()
        if result is not None:
            return result
        now = deadline.clock.now()
        if deadline.expired(now):
            raise timed_out(now)
        if between is not None:
            between(now)
        deadline.clock.sleep(interval)


class _TimedOut(Exception):
    """``until``'s private signal that the deadline passed."""


def until(deadline: Deadline, interval: float, condition: Callable[[], bool]) -> bool:
    """Poll ``condition`` until it holds (True) or the deadline passes (False)."""
    try:
        poll(deadline, interval, lambda: True if condition() else None, lambda now: _TimedOut())
    except _TimedOut:
        return False
    return True
