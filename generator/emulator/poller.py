"""The emulator's clock: SQS event source mappings, and what runs every few seconds.

Lambda polls an SQS queue for each event source mapping; here one background thread does, for
every mapping that CloudFormation created (``generator.emulator.models.EventSourceMapping``):

- receives up to ``BatchSize`` messages (gathering for up to ``MaximumBatchingWindowInSeconds``),
  each with the queue's visibility timeout, so moto counts the receive and, once a message was
  received ``maxReceiveCount`` times, moves it to the dead-letter queue on the next receive, as
  SQS's redrive policy does;
- invokes the function synchronously with the batch, as Lambda does, in a subprocess
  (``generator.emulator.delivery``);
- deletes the messages that succeeded: all of them when the function returned, except those it
  named in ``batchItemFailures`` (with ``ReportBatchItemFailures``); none when it raised. The
  rest become visible again when their visibility timeout ends.

Batches run one at a time (``ScalingConfig.MaximumConcurrency`` is recorded, not used: the
emulator's concurrency is 1). The same thread runs the ``periodic`` tasks every few seconds
(``generator.emulator.observability`` samples the queues' metrics and evaluates the alarms).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.emulator.delivery import Deliverer, InvocationResult, invocation_for

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
MAX_RECEIVE_PER_CALL = 10  # SQS's limit per ReceiveMessage

# Mappings the emulator polls: uuid -> (account, region). Filled by the CloudFormation model.
_mappings: dict[str, tuple[str, str]] = {}
_mappings_lock = threading.Lock()


def register_mapping(uuid: str, account_id: str, region: str) -> None:
    """Poll this event source mapping from now on (until it is deleted)."""
    with _mappings_lock:
        _mappings[uuid] = (account_id, region)


def forget_mapping(uuid: str) -> None:
    """Stop polling a mapping."""
    with _mappings_lock:
        _mappings.pop(uuid, None)


def registered_mappings() -> dict[str, tuple[str, str]]:
    """A snapshot of the mappings being polled."""
    with _mappings_lock:
        return dict(_mappings)


def sqs_record(message: Any, queue_arn: str, region: str) -> dict[str, Any]:
    """One message as Lambda hands it to the function."""
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": "AROAEMULATOR:S3",
            "ApproximateFirstReceiveTimestamp": str(
                message.approximate_first_receive_timestamp or message.sent_timestamp
            ),
        },
        "messageAttributes": {},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(
    outcome: InvocationResult, message_ids: Sequence[str], response_types: Sequence[str]
) -> set[str]:
    """The messages to leave on the queue after an invocation, as Lambda decides it.

    A failed invocation fails every message. With ``ReportBatchItemFailures`` the function's
    ``batchItemFailures`` name the failed ones; a response Lambda cannot read (not a list, an
    item without an identifier, or an identifier not in the batch) fails them all.
    """
    everything = set(message_ids)
    if not outcome.ok:
        return everything
    if REPORT_BATCH_ITEM_FAILURES not in response_types:
        return set()
    payload = outcome.payload
    if payload is None or (isinstance(payload, Mapping) and "batchItemFailures" not in payload):
        return set()
    items = payload.get("batchItemFailures") if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        return everything
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return failed


@dataclass
class Poller:
    """The background thread; ``tick`` is one pass, for tests to drive by hand."""

    deliverer: Deliverer
    interval_seconds: float = 0.5
    evaluate_every_seconds: float = 5.0
    # Run every ``evaluate_every_seconds`` after the mappings were polled.
    periodic: list[Callable[[], object]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _last_evaluation: float = 0.0
    sleep: Callable[[float], None] = time.sleep

    def start(self) -> None:
        """Run ``tick`` in a daemon thread until ``stop``."""
        self._thread = threading.Thread(target=self._run, name="emulator-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Stop after the current pass."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # the clock keeps running whatever one pass did
                print(f"[emulator] poller: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._stop.wait(self.interval_seconds)

    def tick(self, evaluate: bool | None = None) -> int:
        """Poll every mapping once, then (every few seconds, or when asked) run the periodic
        tasks. Returns the number of batches invoked."""
        batches = 0
        for uuid, (account_id, region) in registered_mappings().items():
            batches += self.poll_mapping(uuid, account_id, region)
        now = time.monotonic()
        if evaluate or (
            evaluate is None and now - self._last_evaluation >= self.evaluate_every_seconds
        ):
            self._last_evaluation = now
            for task in self.periodic:
                task()
        return batches

    def poll_mapping(self, uuid: str, account_id: str, region: str) -> int:
        """One receive-invoke-delete round for one mapping; 1 if a batch was invoked."""
        from moto.awslambda.utils import get_backend
        from moto.sqs.models import sqs_backends

        lambda_backend = get_backend(account_id, region)
        mapping = lambda_backend._event_source_mappings.get(uuid)
        if mapping is None:
            forget_mapping(uuid)
            return 0
        if not mapping.enabled:
            return 0
        sqs = sqs_backends[account_id][region]
        queue = next(
            (q for q in sqs.queues.values() if q.queue_arn == mapping.event_source_arn), None
        )
        if queue is None:
            return 0
        messages = self._receive(sqs, queue, int(mapping.batch_size),
                                 int(mapping.max_batch_window or 0))  # fmt: skip
        if not messages:
            return 0
        function = lambda_backend.get_function(mapping.function_arn)
        invocation = invocation_for(function, account_id, region)
        event = {"Records": [sqs_record(m, queue.queue_arn, region) for m in messages]}
        outcome = self.deliverer.invoke_sync(invocation, event)
        failed = failed_message_ids(
            outcome, [m.id for m in messages], list(mapping.function_response_types or [])
        )
        for message in messages:
            if message.id not in failed:
                sqs.delete_message(queue.name, message.receipt_handle)
        kept = len(failed)
        print(
            f"[emulator] {queue.name} -> {invocation.function_name}: batch of {len(messages)}, "
            f"{len(messages) - kept} deleted, {kept} left for redelivery",
            file=sys.stderr,
            flush=True,
        )
        return 1

    def _receive(self, sqs: Any, queue: Any, batch_size: int, window_seconds: int) -> list[Any]:
        visibility = int(queue.visibility_timeout)
        messages: dict[str, Any] = {}  # by id: a short visibility timeout can return one twice
        deadline = time.monotonic() + window_seconds
        while len(messages) < batch_size:
            wanted = min(MAX_RECEIVE_PER_CALL, batch_size - len(messages))
            got = sqs.receive_message(queue.name, wanted, 0, visibility)
            fresh = [m for m in got if m.id not in messages]
            messages.update((m.id, m) for m in got)  # the latest receipt handle counts
            if len(messages) >= batch_size:
                break
            if got and not fresh:
                break  # only messages already in this batch came back
            if not got and (not messages or time.monotonic() >= deadline):
                break
            if not got:
                self.sleep(0.1)  # gathering a batch for the batching window
        return list(messages.values())
