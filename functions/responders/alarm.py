"""One normalised alarm state change from the three ways CloudWatch delivers it.

- SNS: `Records[].Sns.Message` is a JSON *string* (capitalised keys, `Trigger`, display-name
  `Region` such as "EU (Ireland)", so the region is taken from `AlarmArn`);
- EventBridge: "CloudWatch Alarm State Change" (`detail.state`, `detail.configuration.metrics`);
- CloudWatch's direct Lambda alarm action (`alarmArn`, `alarmData`).

Metric-math and anomaly-detection alarms carry `Metrics[]` instead of one metric; composite alarms
carry no metric at all. `parse_event` never raises: anything it cannot read (whatever the
exception a field of the wrong type or shape causes) becomes a `Malformed` with the reason, so one
bad record never hides the others. A datapoint that is not a number does not make the alarm
malformed: its value is `None` and `value_unreadable` keeps what arrived, so a notification says so
rather than failing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
_ARN = re.compile(r"^arn:(aws[a-z-]*):cloudwatch:([a-z0-9-]+):(\d{12}):alarm:(.+)$")
_REASON_VALUE = re.compile(r"\[([-+0-9.eE]+) \(")  # "1 datapoint [85.0 (20/05/24 10:00:00)] ..."
_SNS_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


class MalformedAlarm(ValueError):
    """The message is not an alarm state change this responder can read."""


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, str] = field(default_factory=dict)
    stat: str | None = None
    period: int | None = None


@dataclass(frozen=True)
class AlarmEvent:
    """What every action needs to know about one state change, whatever the envelope."""

    source: str  # "sns", "eventbridge" or "lambda"
    name: str
    arn: str
    partition: str
    region: str  # from the ARN
    account: str
    state: str
    previous_state: str | None
    reason: str
    changed_at: datetime  # the state change time, UTC: with the ARN, the idempotency key
    kind: str  # "metric", "math" (metric math or anomaly detection) or "composite"
    metrics: tuple[Metric, ...] = ()  # the metric, or the metrics a math expression reads
    expression: str | None = None  # the returned math expression, e.g. ANOMALY_DETECTION_BAND(m1)
    threshold: float | None = None
    comparison: str | None = None
    value: float | None = None  # the latest datapoint, where the message says it
    description: str = ""
    value_unreadable: str | None = None  # a datapoint that was there but is not a number

    @property
    def key(self) -> str:
        """The state change's identity: a redelivery (or the same change by another route)
        has the same key."""
        return f"{self.arn}@{self.changed_at.isoformat(timespec='milliseconds')}"

    def dimension(self, name: str) -> set[str]:
        """Every value a dimension takes across the alarm's metrics."""
        return {m.dimensions[name] for m in self.metrics if name in m.dimensions}


@dataclass(frozen=True)
class Malformed:
    reason: str
    excerpt: str  # the start of what arrived, for the log line


def parse_event(event: Any) -> list[AlarmEvent | Malformed]:
    """Every alarm in a Lambda event: one per SNS record, or the single EventBridge/direct one."""
    try:
        return _parse_envelope(event)
    except Exception as exc:  # documented never to raise: whatever arrived is a rejection
        return [Malformed(f"unreadable event: {type(exc).__name__}: {exc}", _excerpt(event))]


def _parse_envelope(event: Any) -> list[AlarmEvent | Malformed]:
    if isinstance(event, Mapping) and isinstance(event.get("Records"), list):
        return [_guard(_from_sns_record, r) for r in event["Records"]]
    if isinstance(event, Mapping) and event.get("detail-type") == "CloudWatch Alarm State Change":
        return [_guard(_from_eventbridge, event)]
    if isinstance(event, Mapping) and "alarmData" in event:
        return [_guard(_from_direct, event)]
    return [Malformed("not an SNS, EventBridge or CloudWatch alarm event", _excerpt(event))]


def _guard(parse: Any, raw: Any) -> AlarmEvent | Malformed:
    """Any exception from reading a field (IndexError, KeyError, TypeError, RecursionError...)
    is a rejection with its reason, never a crash of the invocation."""
    try:
        return parse(raw)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, MalformedAlarm) else f"{type(exc).__name__}: {exc}"
        return Malformed(reason, _excerpt(raw))


def _from_sns_record(record: Mapping[str, Any]) -> AlarmEvent:
    message = record["Sns"]["Message"]
    try:
        body = json.loads(message)
    except json.JSONDecodeError:
        raise MalformedAlarm("the SNS message is not JSON") from None
    if not isinstance(body, Mapping) or "AlarmArn" not in body:
        raise MalformedAlarm("the SNS message is not a CloudWatch alarm (no AlarmArn)")
    trigger = body.get("Trigger") or {}
    metrics, expression = _sns_metrics(trigger)
    kind = "composite" if "AlarmRule" in body else ("math" if expression else "metric")
    reason = str(body.get("NewStateReason", ""))
    return _event(
        "sns",
        arn=body["AlarmArn"],
        name=body.get("AlarmName"),
        state=body.get("NewStateValue"),
        previous=body.get("OldStateValue"),
        reason=reason,
        changed_at=body.get("StateChangeTime"),
        kind=kind,
        metrics=metrics,
        expression=expression,
        threshold=trigger.get("Threshold"),
        comparison=_SNS_COMPARISONS.get(trigger.get("ComparisonOperator", "")),
        value=_value_from_reason(reason),
        description=str(body.get("AlarmDescription") or ""),
    )


def _sns_metrics(trigger: Mapping[str, Any]) -> tuple[tuple[Metric, ...], str | None]:
    if trigger.get("MetricName"):
        dims = _sns_dimensions(trigger.get("Dimensions"))
        stat = trigger.get("Statistic") or trigger.get("ExtendedStatistic")
        metric = Metric(
            trigger["Namespace"], trigger["MetricName"], dims, stat, trigger.get("Period")
        )
        return (metric,), None
    metrics, expression = [], None
    for query in trigger.get("Metrics") or []:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            inner = stat["Metric"]
            dims = _sns_dimensions(inner.get("Dimensions"))
            metrics.append(
                Metric(
                    inner["Namespace"],
                    inner["MetricName"],
                    dims,
                    stat.get("Stat"),
                    stat.get("Period"),
                )
            )
        elif query.get("ReturnData", True) or query.get("Id") == trigger.get("ThresholdMetricId"):
            expression = query.get("Expression")
    return tuple(metrics), expression


def _sns_dimensions(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise MalformedAlarm(f"Dimensions is not a list: {raw!r}"[:200])
    return {str(d["name"]): str(d["value"]) for d in raw}


def _from_eventbridge(event: Mapping[str, Any]) -> AlarmEvent:
    if event.get("source") != "aws.cloudwatch":
        raise MalformedAlarm(f"EventBridge event from {event.get('source')!r}, not aws.cloudwatch")
    resources = event.get("resources")
    if not isinstance(resources, list) or not resources:
        raise MalformedAlarm("the EventBridge event names no alarm (resources is empty)")
    return _from_alarm_data("eventbridge", resources[0], event["detail"])


def _from_direct(event: Mapping[str, Any]) -> AlarmEvent:
    if event.get("source") != "aws.cloudwatch":
        raise MalformedAlarm(f"alarm action from {event.get('source')!r}, not aws.cloudwatch")
    return _from_alarm_data("lambda", event["alarmArn"], event["alarmData"])


def _from_alarm_data(source: str, arn: str, data: Mapping[str, Any]) -> AlarmEvent:
    """EventBridge's `detail` and the direct action's `alarmData` share one shape."""
    if not isinstance(data, Mapping) or not isinstance(data.get("state"), Mapping):
        raise MalformedAlarm("the alarm data has no state object")
    state, config = data["state"], data.get("configuration") or {}
    metrics, expression = _camel_metrics(config.get("metrics") or [])
    kind = "composite" if "alarmRule" in config else ("math" if expression else "metric")
    reason_data = _reason_data(state.get("reasonData"))
    recent = reason_data.get("recentDatapoints") or []
    latest = recent[-1] if isinstance(recent, list) and recent else None
    value, unreadable = _datapoint(latest)
    if latest is None:
        value = _value_from_reason(str(state.get("reason", "")))
    return _event(
        source,
        arn=arn,
        name=data.get("alarmName"),
        state=state.get("value"),
        previous=(data.get("previousState") or {}).get("value"),
        reason=str(state.get("reason", "")),
        changed_at=state.get("timestamp"),
        kind=kind,
        metrics=metrics,
        expression=expression,
        threshold=reason_data.get("threshold"),
        comparison=None,
        value=value,
        value_unreadable=unreadable,
        description=str(config.get("description") or ""),
    )


def _camel_metrics(queries: list[Mapping[str, Any]]) -> tuple[tuple[Metric, ...], str | None]:
    metrics, expression = [], None
    for query in queries:
        if "metricStat" in query:
            stat = query["metricStat"]
            inner = stat["metric"]
            dims = {str(k): str(v) for k, v in (inner.get("dimensions") or {}).items()}
            metrics.append(
                Metric(
                    inner["namespace"], inner["name"], dims, stat.get("stat"), stat.get("period")
                )
            )
        elif "expression" in query:
            expression = expression or query["expression"]
    return tuple(metrics), expression


def _event(
    source: str, *, arn: Any, name: Any, state: Any, changed_at: Any, **rest: Any
) -> AlarmEvent:
    match = _ARN.match(arn) if isinstance(arn, str) else None
    if not match:
        raise MalformedAlarm(f"not a CloudWatch alarm ARN: {arn!r}")
    if state not in STATES:
        raise MalformedAlarm(f"unknown alarm state {state!r}")
    partition, region, account, arn_name = match.groups()
    if name is not None and name != arn_name:
        raise MalformedAlarm(f"alarm name {name!r} does not match its ARN")
    threshold = rest.pop("threshold")
    return AlarmEvent(
        source=source,
        name=arn_name,
        arn=arn,
        partition=partition,
        region=region,
        account=account,
        state=state,
        previous_state=rest.pop("previous"),
        changed_at=parse_time(changed_at),
        threshold=float(threshold) if isinstance(threshold, (int, float)) else None,
        **rest,
    )


def parse_time(text: Any) -> datetime:
    """CloudWatch writes `2024-05-20T10:01:00.123+0000`; EventBridge's `time` uses `Z`."""
    if not isinstance(text, str):
        raise MalformedAlarm(f"no state change time (got {text!r})")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedAlarm(f"unreadable state change time {text!r}") from None
    if parsed.tzinfo is None:
        raise MalformedAlarm(f"state change time without a time zone: {text!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        raise MalformedAlarm(f"state change time out of range: {text!r}") from None


def _datapoint(raw: Any) -> tuple[float | None, str | None]:
    """The latest datapoint as a number, or None and what arrived when it is not one."""
    if raw is None:
        return None, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
        return float(raw), None
    return None, repr(raw)[:50]


def _reason_data(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str):
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _value_from_reason(reason: str) -> float | None:
    match = _REASON_VALUE.search(reason)
    if not match:
        return None
    try:
        return float(match.group(1))
    except ValueError:  # "[1.2.3 (" matches the pattern and is no number
        return None


def _excerpt(raw: Any) -> str:
    try:
        return json.dumps(raw, default=str)[:300]
    except Exception:  # a structure json cannot write (too deep): its repr will do for a log
        return repr(raw)[:300]
