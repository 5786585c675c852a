"""Queue ingest mode: every message of an SQS batch is an S3 notification, processed on its own.

A message fails when its body is not a notification or any of its records failed; only failed
messages are reported back (a partial batch response), so Lambda deletes the rest and only the
failed ones are received again, and after the queue's ``maxReceiveCount`` go to the dead-letter
queue. Redeliveries are harmless: each object version's result is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from . import core, events
from .errors import InvalidEvent
from .settings import Settings
from .signing import SigningKey


class MessageResult(NamedTuple):
    """What became of one message: the outcome of each record of its notification."""

    message_id: str
    outcomes: tuple[core.Outcome, ...]

    @property
    def failed(self) -> bool:
        """Whether the message must be received again."""
        return any(isinstance(o, core.Failed) for o in self.outcomes)


def process_message(
    message: events.QueueMessage,
    store: core.ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
    time_left: core.TimeLeft | None = None,
) -> MessageResult:
    """Process one message's notification; a body that is not one is a failed message.

    ``time_left`` is the invocation's: a read that would run into the batch's timeout stops
    with OutOfTime, which fails this message (received again), not the whole batch.
    """
    try:
        notification = events.message_notification(message)
        outcomes = tuple(core.process_event(notification, store, password, settings, time_left))
    except InvalidEvent as exc:
        failed = core.Failed(0, f"message {message.message_id}", InvalidEvent.__name__, str(exc))
        outcomes = (failed,)
    return MessageResult(message.message_id, outcomes)


def process_batch(
    event: Mapping[str, Any],
    store: core.ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
    time_left: core.TimeLeft | None = None,
) -> Iterator[MessageResult]:
    """Every message's result, in order; one failing message never stops the others."""
    password = core.once(password)  # one secret read per batch at most
    for message in events.queue_messages(event):
        yield process_message(message, store, password, settings, time_left)


def batch_response(failed_message_ids: list[str]) -> dict[str, Any]:
    """The partial batch response naming exactly the messages to receive again."""
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed_message_ids]}
