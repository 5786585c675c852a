"""CloudWatch metrics in the emulator: what AWS would record, put into moto's CloudWatch.

Three sources, as in AWS:
- the function's embedded-metric-format (EMF) lines (Powertools Metrics prints one JSON document
  per invocation; in AWS, CloudWatch Logs extracts the metrics from the log group);
- Lambda's own ``AWS/Lambda`` metrics per invocation: ``Invocations``, ``Errors``, ``Duration``;
- SQS's ``AWS/SQS`` queue metrics, sampled: ``ApproximateNumberOfMessagesVisible``,
  ``ApproximateNumberOfMessagesNotVisible`` and ``ApproximateAgeOfOldestMessage``.

Parsing is pure (``emf_data``, ``lambda_data``, ``queue_data``); only ``put`` touches moto.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# How long the emulator keeps datapoints: enough for any alarm window the stack uses.
RETENTION = timedelta(hours=3)


@dataclass(frozen=True)
class Datum:
    """One value of one metric series at one time."""

    namespace: str
    name: str
    value: float
    dimensions: tuple[tuple[str, str], ...]
    timestamp: datetime  # naive UTC, as moto stores it
    unit: str | None = None

    def as_moto(self) -> dict[str, Any]:
        """The shape moto's ``put_metric_data`` takes."""
        member: dict[str, Any] = {
            "MetricName": self.name,
            "Value": self.value,
            "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
            "Timestamp": self.timestamp,
        }
        if self.unit:
            member["Unit"] = self.unit
        return member


def naive_utc(moment: datetime) -> datetime:
    """A datetime as moto keeps them: UTC without a timezone."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _number_values(value: Any) -> list[float]:
    values = value if isinstance(value, list) else [value]
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def emf_data(lines: Iterable[str], default_time: datetime) -> Iterator[Datum]:
    """The metrics of every embedded-metric-format document among ``lines``.

    A line that is not JSON, or not an EMF document, is a plain log line and yields nothing.
    Each directive's dimension sets each give a series, as CloudWatch extracts them.
    """
    for line in lines:
        text = line.strip()
        if not (text.startswith("{") and '"_aws"' in text):
            continue
        try:
            document = json.loads(text)
            meta = document["_aws"]
            directives = meta["CloudWatchMetrics"]
        except (ValueError, KeyError, TypeError):
            continue
        stamp = meta.get("Timestamp")
        when = (
            naive_utc(datetime.fromtimestamp(stamp / 1000, UTC))
            if isinstance(stamp, int | float)
            else naive_utc(default_time)
        )
        for directive in directives if isinstance(directives, list) else []:
            namespace = str(directive.get("Namespace", ""))
            dimension_sets = directive.get("Dimensions") or [[]]
            for metric in directive.get("Metrics") or []:
                name = str(metric.get("Name", ""))
                if not namespace or not name or name not in document:
                    continue
                for keys in dimension_sets:
                    dims = tuple((str(k), str(document.get(k, ""))) for k in keys)
                    for value in _number_values(document[name]):
                        yield Datum(namespace, name, value, dims, when, metric.get("Unit"))


def lambda_data(function_name: str, ok: bool, duration_ms: float, when: datetime) -> list[Datum]:
    """Lambda's own metrics for one invocation (``Errors`` is 0 or 1, as Lambda reports it)."""
    dims = (("FunctionName", function_name),)
    at = naive_utc(when)
    return [
        Datum("AWS/Lambda", "Invocations", 1.0, dims, at, "Count"),
        Datum("AWS/Lambda", "Errors", 0.0 if ok else 1.0, dims, at, "Count"),
        Datum("AWS/Lambda", "Duration", round(duration_ms, 2), dims, at, "Milliseconds"),
    ]


@dataclass(frozen=True)
class QueueState:
    """What SQS's metrics describe about one queue at one moment."""

    name: str
    visible: int
    not_visible: int
    oldest_sent_ms: int | None  # sent time of the oldest message, if any


def queue_data(state: QueueState, when: datetime) -> list[Datum]:
    """SQS's metrics for one queue at ``when``."""
    dims = (("QueueName", state.name),)
    at = naive_utc(when)
    now_ms = at.replace(tzinfo=UTC).timestamp() * 1000
    age = 0.0 if state.oldest_sent_ms is None else max(0.0, (now_ms - state.oldest_sent_ms) / 1000)
    return [
        Datum("AWS/SQS", "ApproximateNumberOfMessagesVisible", float(state.visible), dims, at,
              "Count"),
        Datum("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", float(state.not_visible),
              dims, at, "Count"),
        Datum("AWS/SQS", "ApproximateAgeOfOldestMessage", round(age, 3), dims, at, "Seconds"),
    ]  # fmt: skip


def queue_states(account_id: str, region: str) -> list[QueueState]:
    """Every queue of moto's SQS in this account and region, as its metrics see it."""
    from moto.sqs.models import sqs_backends

    states = []
    for queue in list(sqs_backends[account_id][region].queues.values()):
        messages = list(queue._messages)
        visible = sum(1 for m in messages if m.visible)
        stamps: list[Any] = [m.sent_timestamp for m in messages]
        sent = [int(t) for t in stamps if t is not None]
        states.append(
            QueueState(queue.name, visible, len(messages) - visible, min(sent) if sent else None)
        )
    return states


@dataclass
class MetricSink:
    """Puts datapoints into moto's CloudWatch, keeping only the last ``RETENTION`` of them."""

    retention: timedelta = RETENTION
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, account_id: str, region: str, data: Iterable[Datum]) -> int:
        """Record the datapoints; returns how many."""
        from moto.cloudwatch.models import cloudwatch_backends

        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for datum in data:
            by_namespace.setdefault(datum.namespace, []).append(datum.as_moto())
        backend = cloudwatch_backends[account_id][region]
        with self._lock:
            for namespace, members in by_namespace.items():
                backend.put_metric_data(namespace, members)
            self._prune(backend)
        return sum(len(m) for m in by_namespace.values())

    def _prune(self, backend: Any) -> None:
        cutoff = naive_utc(datetime.now(UTC)) - self.retention
        backend.metric_data = [d for d in backend.metric_data if naive_utc(d.timestamp) >= cutoff]


SINK = MetricSink()


def record_invocation(
    account_id: str,
    region: str,
    function_name: str,
    ok: bool,
    duration_ms: float,
    logs: str,
    when: datetime | None = None,
) -> int:
    """Lambda's metrics and the function's EMF metrics of one invocation, into CloudWatch."""
    moment = when or datetime.now(UTC)
    data = [*lambda_data(function_name, ok, duration_ms, moment)]
    data += emf_data(logs.splitlines(), moment)
    return SINK.put(account_id, region, data)


def sample_queues(account_id: str, region: str, when: datetime | None = None) -> int:
    """One sample of every queue's SQS metrics, into CloudWatch."""
    moment = when or datetime.now(UTC)
    data = [d for s in queue_states(account_id, region) for d in queue_data(s, moment)]
    return SINK.put(account_id, region, data)
