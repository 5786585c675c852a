"""Queue ingest mode: every message of an SQS batch is an S3 notification, processed on its own.

A message fails when its body is not a notification or any of its records failed; only failed
messages are reported back (a partial batch response), so Lambda deletes the rest and only the
failed ones are received again, and after the queue's ``maxReceiveCount`` go to the dead-letter
queue. Redeliveries are harmless: each object version's result is written once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import core, objects
from .errors import InvalidEvent
from .settings import Settings
from .signing import SigningKey
from .value import Value


class QueueMessage(Value):
    """One SQS message of a batch: its id (what a partial batch response names) and body."""

    __match_args__ = ("index", "message_id", "body")
    __slots__ = __match_args__
    index: int
    message_id: str
    body: str

    def __init__(self, index: int, message_id: str, body: str) -> None:
        self.index, self.message_id, self.body = index, message_id, body


def queue_messages(event: Mapping[str, Any]) -> list[QueueMessage]:
    """The batch's messages (raises InvalidEvent when one lacks its id, which nothing could
    report as failed: the whole batch is then retried)."""
    messages = []
    for index, record in enumerate(event["Records"]):
        message_id = record.get("messageId") if isinstance(record, Mapping) else None
        if not isinstance(message_id, str) or not message_id:
            raise InvalidEvent(f"Records[{index}].messageId is {message_id!r}; expected a string")
        body = record.get("body")
        messages.append(QueueMessage(index, message_id, body if isinstance(body, str) else ""))
    return messages


def message_notification(message: QueueMessage) -> Any:
    """The S3 notification a message carries (raises InvalidEvent when the body is not JSON).

    ``s3:TestEvent`` bodies (S3 sends one when the notification is configured) parse like any
    other; ``event_records`` skips them.
    """
    try:
        return json.loads(message.body)
    except ValueError as exc:
        raise InvalidEvent(
            f"message {message.message_id} body is not JSON ({exc}); expected an S3 notification"
        ) from None


class MessageResult(Value):
    """What became of one message: the outcome of each record of its notification."""

    __match_args__ = ("message_id", "outcomes")
    __slots__ = __match_args__
    message_id: str
    outcomes: tuple[core.Outcome, ...]

    def __init__(self, message_id: str, outcomes: tuple[core.Outcome, ...]) -> None:
        self.message_id, self.outcomes = message_id, outcomes

    @property
    def failed(self) -> bool:
        """Whether the message must be received again."""
        return any(isinstance(o, core.Failed) for o in self.outcomes)


def process_message(
    message: QueueMessage,
    store: objects.ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
    time_left: objects.TimeLeft | None = None,
) -> MessageResult:
    """Process one message's notification; a body that is not one is a failed message.

    ``time_left`` is the invocation's: a read that would run into the batch's timeout stops
    with OutOfTime, which fails this message (received again), not the whole batch.
    """
    try:
        notification = message_notification(message)
        outcomes = tuple(core.process_event(notification, store, password, settings, time_left))
    except InvalidEvent as exc:
        failed = core.Failed(0, f"message {message.message_id}", InvalidEvent.__name__, str(exc))
        outcomes = (failed,)
    return MessageResult(message.message_id, outcomes)


def process_batch(
    event: Mapping[str, Any],
    store: objects.ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
    time_left: objects.TimeLeft | None = None,
) -> Iterator[MessageResult]:
    """Every message's result, in order; one failing message never stops the others."""
    password = core.once(password)  # one secret read per batch at most
    for message in queue_messages(event):
        yield process_message(message, store, password, settings, time_left)


def batch_response(failed_message_ids: list[str]) -> dict[str, Any]:
    """The partial batch response naming exactly the messages to receive again."""
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed_message_ids]}
