"""One Deadline and one poll for every wait (on a fake clock: no wall-clock time)."""

from __future__ import annotations

import pytest

from generator.clock import Deadline, poll, until
from tests.deploy.conftest import FakeClock


class Late(Exception):
    """The test's timeout error."""


def test_deadline_counts_down_as_the_clock_sleeps() -> None:
    clock = FakeClock()
    deadline = Deadline(clock, 10)
    clock.sleep(4)
    assert deadline.remaining() == 6
    assert not deadline.expired()
    clock.sleep(7)
    assert deadline.remaining() == 0  # never negative
    assert deadline.expired()


def test_poll_returns_the_first_value_and_sleeps_between_attempts() -> None:
    clock = FakeClock()
    answers = iter([None, None, "done"])
    assert poll(Deadline(clock, 60), 5, lambda: next(answers), Late) == "done"
    assert clock.sleeps == [5, 5]


def test_poll_checks_once_more_at_the_deadline_then_times_out() -> None:
    clock = FakeClock()
    attempts: list[float] = []

    def never() -> None:
        attempts.append(clock.now())

    with pytest.raises(Late):
        poll(Deadline(clock, 10), 5, never, Late)
    assert attempts == [1000.0, 1005.0, 1010.0]


def test_poll_runs_the_between_hook_before_each_sleep() -> None:
    clock = FakeClock()
    beats: list[float] = []
    answers = iter([None, None, 1])
    poll(Deadline(clock, 60), 5, lambda: next(answers), Late, beats.append)
    assert beats == [1000.0, 1005.0]


def test_an_error_in_the_check_ends_the_wait_at_once() -> None:
    clock = FakeClock()

    def failed() -> None:
        raise ValueError("failed")

    with pytest.raises(ValueError, match="failed"):
        poll(Deadline(clock, 60), 5, failed, Late)
    assert clock.sleeps == []


def test_until_says_whether_the_condition_held_before_the_deadline() -> None:
    clock = FakeClock()
    assert until(Deadline(clock, 10), 5, lambda: clock.now() >= 1005)
    assert not until(Deadline(clock, 10), 5, lambda: False)


def test_quickly_then_looks_soon_then_falls_on_the_plain_polls_multiples() -> None:
    from generator.clock import quickly_then

    interval = quickly_then((1.0, 2.0, 2.0), 5.0)
    times, t = [0.0], 0.0
    for attempt in range(6):
        t += interval(attempt)
        times.append(t)
    assert times == [0.0, 1.0, 3.0, 5.0, 10.0, 15.0, 20.0]
