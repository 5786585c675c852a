"""Metrics and alarms in the emulator, a part of it that can be left out.

What AWS would record and evaluate, put into moto's CloudWatch (which stores metrics and alarms
but computes neither): Lambda's own metrics and the function's embedded-metric-format lines after
each invocation, SQS's queue metrics sampled every few seconds, and every alarm evaluated on the
same clock, notifying its SNS actions (``metrics``, ``alarms``). ``alarm_demo`` is the second
half of ``make demo``: a delivery that fails, and the alarm it sets off.

The rest of the emulator knows this package only through ``install``, which hooks it into the
function runner (after each invocation) and the poller (every few seconds).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from generator.emulator.observability import alarms, metrics

if TYPE_CHECKING:
    from generator.emulator.delivery import Deliverer, Invocation, InvocationResult
    from generator.emulator.poller import Poller


def install(deliverer: Deliverer, poller: Poller) -> None:
    """Record metrics after every invocation; sample queues and evaluate alarms on the poller."""
    deliverer.observers.append(record)
    poller.periodic.append(observe)


def record(invocation: Invocation, result: InvocationResult) -> None:
    """Lambda's metrics and the function's EMF metrics of one invocation, into CloudWatch."""
    metrics.record_invocation(
        invocation.account_id,
        invocation.region,
        invocation.function_name,
        result.ok,
        result.duration_ms,
        result.logs,
    )


def _in_use(backends: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) of every region moto has created a backend in.

    Read with ``items``, never ``[]``: moto's ``[]`` creates the account or region it is asked for.
    """
    for account_id, regions in list(backends.items()):
        for region, backend in list(regions.items()):
            yield str(account_id), str(region), backend


def observe() -> list[alarms.Transition]:
    """Sample every queue's metrics and evaluate every alarm, wherever there are any."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.sqs.models import sqs_backends

    for account_id, region, backend in list(_in_use(sqs_backends)):
        if getattr(backend, "queues", None):
            metrics.sample_queues(account_id, region)
    changes = []
    for account_id, region, backend in list(_in_use(cloudwatch_backends)):
        if getattr(backend, "alarms", None):
            changes += alarms.evaluate(account_id, region)
    return changes
