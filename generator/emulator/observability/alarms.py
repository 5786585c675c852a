"""Alarm evaluation in the emulator: moto stores alarms but never evaluates them.

Each evaluation looks at an alarm's last ``EvaluationPeriods`` periods (ending now), computes its
statistic over the datapoints of its exact metric series in each, and compares with the
threshold; ``DatapointsToAlarm`` of them breaching (default: all) puts the alarm in ALARM. Periods
without data follow ``TreatMissingData``. A change of state is recorded on the alarm (with a
reason, as ``DescribeAlarms`` shows it) and published to the state's actions (SNS topics), with
the message CloudWatch sends.

Not evaluated: metric-math alarms (``Metrics``, such as the ErrorRate alarm) and extended
statistics (percentiles); they keep their state. Deciding a state is pure (``decide``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from generator.emulator.observability.metrics import naive_utc

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def statistic(name: str, values: Sequence[float]) -> float:
    """One of CloudWatch's simple statistics over a period's values (not empty)."""
    if name == "Sum":
        return float(sum(values))
    if name == "Average":
        return float(sum(values) / len(values))
    if name == "Maximum":
        return float(max(values))
    if name == "Minimum":
        return float(min(values))
    if name == "SampleCount":
        return float(len(values))
    raise ValueError(f"statistic {name!r}; expected Sum, Average, Maximum, Minimum or SampleCount")


@dataclass(frozen=True)
class Rule:
    """What an alarm compares: the parts of it that evaluation needs."""

    statistic: str
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str  # missing | notBreaching | breaching | ignore


@dataclass(frozen=True)
class Decision:
    """An alarm's state from its periods' values (None: no data), and why."""

    state: str | None  # None: keep the current state
    values: tuple[float | None, ...]
    reason: str


def decide(rule: Rule, values: Sequence[float | None]) -> Decision:
    """The state an alarm's last periods call for (newest first in ``values``)."""
    compare = _COMPARE[rule.comparison]
    breaching = 0
    for value in values:
        if value is None:
            breaching += rule.treat_missing == "breaching"
        else:
            breaching += bool(compare(value, rule.threshold))
    seen = [v for v in values if v is not None]
    shown = ", ".join("missing" if v is None else f"{v:g}" for v in values)
    reason = (
        f"Threshold Crossed: {breaching} of the last {len(values)} datapoints [{shown}] "
        f"{'were' if breaching != 1 else 'was'} {rule.comparison} {rule.threshold:g} "
        f"({rule.statistic} over {rule.period_seconds}s)"
    )
    if breaching >= rule.datapoints_to_alarm:
        return Decision(ALARM, tuple(values), reason)
    if not seen and rule.treat_missing == "missing":
        return Decision(INSUFFICIENT, tuple(values), "no datapoints in the evaluation range")
    if not seen and rule.treat_missing == "ignore":
        return Decision(None, tuple(values), "no datapoints; the state is kept")
    return Decision(OK, tuple(values), reason)


def rule_of(alarm: Any) -> Rule | None:
    """The evaluation rule of a moto alarm, or None when the emulator cannot evaluate it."""
    if alarm.metric_data_queries or not alarm.metric_name or alarm.extended_statistic:
        return None
    if alarm.comparison_operator not in _COMPARE:
        return None
    periods = int(alarm.evaluation_periods)
    return Rule(
        statistic=str(alarm.statistic),
        period_seconds=int(alarm.period),
        evaluation_periods=periods,
        datapoints_to_alarm=int(alarm.datapoints_to_alarm or periods),
        threshold=float(alarm.threshold),
        comparison=str(alarm.comparison_operator),
        treat_missing=str(alarm.treat_missing_data or "missing"),
    )


def period_values(
    rule: Rule,
    datapoints: Iterable[tuple[datetime, float]],
    now: datetime,
) -> list[float | None]:
    """The statistic of each of the last periods, newest first (None where no datapoint)."""
    end = naive_utc(now)
    span = timedelta(seconds=rule.period_seconds)
    buckets: list[list[float]] = [[] for _ in range(rule.evaluation_periods)]
    for when, value in datapoints:
        age = end - naive_utc(when)
        if age < timedelta(0):
            continue
        index = int(age / span)
        if index < rule.evaluation_periods:
            buckets[index].append(value)
    return [statistic(rule.statistic, b) if b else None for b in buckets]


def _series(alarm: Any, metric_data: Iterable[Any]) -> list[tuple[datetime, float]]:
    wanted = {(d.name, d.value) for d in alarm.dimensions}
    points = []
    for datum in metric_data:
        if datum.namespace != alarm.namespace or datum.name != alarm.metric_name:
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted:
            continue
        value = getattr(datum, "value", None)
        if value is not None:
            points.append((datum.timestamp, float(value)))
    return points


def notification(
    alarm: Any, old_state: str, decision: Decision, account_id: str, region: str
) -> dict[str, Any]:
    """The message CloudWatch publishes to an alarm's SNS actions."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "NewStateValue": decision.state,
        "NewStateReason": decision.reason,
        "StateChangeTime": datetime.now(UTC).isoformat(),
        "Region": region,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": str(alarm.statistic).upper(),
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data,
        },
    }


@dataclass(frozen=True)
class Transition:
    """An alarm that changed state, and the topics told."""

    alarm: str
    old: str
    new: str
    reason: str
    notified: tuple[str, ...]


def evaluate(account_id: str, region: str, now: datetime | None = None) -> list[Transition]:
    """Evaluate every alarm of moto's CloudWatch in this account and region; apply changes."""
    from moto.cloudwatch.models import cloudwatch_backends

    backend = cloudwatch_backends[account_id][region]
    moment = now or datetime.now(UTC)
    data = list(backend.metric_data)
    changes = []
    for alarm in list(backend.alarms.values()):
        rule = rule_of(alarm)
        if rule is None:
            continue
        decision = decide(rule, period_values(rule, _series(alarm, data), moment))
        if decision.state is None or decision.state == alarm.state_value:
            continue
        old = str(alarm.state_value)
        reason_data = {"version": "1.0", "recentDatapoints": [v for v in decision.values if v]}
        backend.set_alarm_state(alarm.name, decision.reason, json.dumps(reason_data),
                                decision.state)  # fmt: skip
        notified = _notify(alarm, old, decision, account_id, region)
        changes.append(Transition(alarm.name, old, decision.state, decision.reason, notified))
        print(
            f"[emulator] alarm {alarm.name}: {old} -> {decision.state} ({decision.reason}); "
            f"notified {', '.join(notified) or 'nobody'}",
            file=sys.stderr,
            flush=True,
        )
    return changes


def _notify(
    alarm: Any, old: str, decision: Decision, account_id: str, region: str
) -> tuple[str, ...]:
    if not alarm.actions_enabled:
        return ()
    actions = {
        ALARM: alarm.alarm_actions,
        OK: alarm.ok_actions,
        INSUFFICIENT: alarm.insufficient_data_actions,
    }[str(decision.state)]
    from moto.sns.models import sns_backends

    sent = []
    message = json.dumps(notification(alarm, old, decision, account_id, region))
    subject = f'{decision.state}: "{alarm.name}" in {region}'[:100]
    for arn in actions or []:
        if str(arn).split(":")[2:3] != ["sns"]:
            continue  # Auto Scaling, EC2 and Systems Manager actions are not emulated
        try:
            sns_backends[account_id][region].publish(message, arn=arn, subject=subject)
        except Exception as exc:  # a missing topic must not stop the other alarms
            print(f"[emulator] alarm {alarm.name}: cannot notify {arn}: {exc}", file=sys.stderr)
            continue
        sent.append(str(arn))
    return tuple(sent)
