"""Time as every wait sees it: a clock (tests pass a fake), one ``Deadline`` and one ``poll``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
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


def utc_now() -> datetime:
    """Wall-clock time in UTC, for what is dated (a preview's ``ExpiresAt``); waits use a Clock."""
    return datetime.now(UTC)


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


# Seconds to sleep before the next attempt, given how many attempts came before (0, 1, ...).
Interval = float | Callable[[int], float]


def quickly_then(first: tuple[float, ...], every: float) -> Callable[[int], float]:
    """Intervals ``first``, then ``every`` seconds: a short operation is seen to end within a
    second or two, a long one is not asked about more often than every ``every``. With ``first``
    summing to ``every`` the later attempts fall on the same multiples of ``every`` as a plain
    ``every``-second poll's."""

    def interval(attempt: int) -> float:
        return first[attempt] if attempt < len(first) else every

    return interval


def poll(
    deadline: Deadline,
    interval: Interval,
    check: Callable[[], T | None],
    timed_out: Callable[[float], Exception],
    between: Callable[[float], None] | None = None,
) -> T:
    """Call ``check`` until it returns a value; raise ``timed_out(now)`` once the deadline passed.

    Between attempts ``between(now)`` runs (a heartbeat, say), then the clock sleeps ``interval``
    (a number, or a function of the attempt such as ``backoff``). ``check`` may raise to end the
    wait early (a failed operation).
    """
    attempt = 0
    while True:
        result = check()
        if result is not None:
            return result
        now = deadline.clock.now()
        if deadline.expired(now):
            raise timed_out(now)
        if between is not None:
            between(now)
        deadline.clock.sleep(interval(attempt) if callable(interval) else interval)
        attempt += 1


class _TimedOut(Exception):
    """``until``'s private signal that the deadline passed."""


def until(deadline: Deadline, interval: Interval, condition: Callable[[], bool]) -> bool:
    """Poll ``condition`` until it holds (True) or the deadline passes (False)."""
    try:
        poll(deadline, interval, lambda: True if condition() else None, lambda now: _TimedOut())
    except _TimedOut:
        return False
    return True
