"""Every envelope and every kind of alarm becomes the same normalised event; junk is rejected."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.responders.alarm import (
    AlarmEvent,
    Malformed,
    MalformedAlarm,
    parse_event,
    parse_time,
)
from tests.conftest import load_event

CHANGED = datetime(2024, 5, 20, 10, 1, 0, 123000, tzinfo=UTC)


def only(event: object) -> AlarmEvent:
    [alarm] = parse_event(event)
    assert isinstance(alarm, AlarmEvent), alarm
    return alarm


@pytest.mark.parametrize(
    ("fixture", "source", "kind", "name"),
    [
        ("alarm_sns_threshold.json", "sns", "metric", "acme-ops-responder-users-read-capacity"),
        ("alarm_sns_metric_math.json", "sns", "math", "acme-ops-responder-users-read-rate"),
        ("alarm_sns_anomaly.json", "sns", "math", "prod-api-latency-anomaly"),
        ("alarm_sns_composite.json", "sns", "composite", "prod-checkout-degraded"),
        ("alarm_eventbridge_threshold.json", "eventbridge", "metric", "prod-users-read"),
        ("alarm_eventbridge_composite.json", "eventbridge", "composite", "prod-checkout-degraded"),
        ("alarm_lambda_metric_math.json", "lambda", "math", "acme-ops-responder-users-read-rate"),
        ("alarm_lambda_anomaly.json", "lambda", "math", "prod-api-latency-anomaly"),
    ],
)
def test_each_envelope_and_kind_is_understood(fixture, source, kind, name) -> None:
    alarm = only(load_event(fixture))
    assert (alarm.source, alarm.kind, alarm.name) == (source, kind, name)
    assert alarm.state == "ALARM" and alarm.previous_state == "OK"
    # The SNS message says "EU (Ireland)": the region must come from the ARN.
    assert (alarm.region, alarm.account, alarm.partition) == ("eu-west-1", "123456789012", "aws")
    assert alarm.changed_at == CHANGED
    assert alarm.key.endswith("@2024-05-20T10:01:00.123+00:00")


def test_threshold_alarm_carries_metric_threshold_and_value() -> None:
    alarm = only(load_event("alarm_sns_threshold.json"))
    [metric] = alarm.metrics
    assert (metric.namespace, metric.name, dict(metric.dimensions)) == (
        "AWS/DynamoDB", "ConsumedReadCapacityUnits", {"TableName": "users"},
    )  # fmt: skip
    assert (alarm.threshold, alarm.comparison, alarm.value) == (4800.0, ">=", 5100.0)
    assert alarm.dimension("TableName") == {"users"}


def test_eventbridge_threshold_and_value_come_from_reason_data() -> None:
    alarm = only(load_event("alarm_eventbridge_threshold.json"))
    assert (alarm.threshold, alarm.value) == (4800.0, 5100.0)
    assert alarm.dimension("TableName") == {"users"}


def test_metric_math_keeps_the_expression_and_the_metrics_it_reads() -> None:
    for fixture in ("alarm_sns_metric_math.json", "alarm_lambda_metric_math.json"):
        alarm = only(load_event(fixture))
        assert alarm.expression == "m1/60"
        assert [m.name for m in alarm.metrics] == ["ConsumedReadCapacityUnits"]
        assert alarm.value == 85.0


def test_anomaly_alarm_has_a_band_and_no_threshold() -> None:
    for fixture in ("alarm_sns_anomaly.json", "alarm_lambda_anomaly.json"):
        alarm = only(load_event(fixture))
        assert alarm.expression == "ANOMALY_DETECTION_BAND(m1, 2)"
        assert alarm.threshold is None and alarm.value == 912.5
        assert alarm.dimension("FunctionName") == {"checkout"}


def test_composite_alarm_has_no_metric() -> None:
    for fixture in ("alarm_sns_composite.json", "alarm_eventbridge_composite.json"):
        alarm = only(load_event(fixture))
        assert alarm.metrics == () and alarm.threshold is None
        assert alarm.dimension("TableName") == set()


def test_same_change_by_two_routes_has_the_same_key() -> None:
    sns = only(load_event("alarm_sns_metric_math.json"))
    direct = only(load_event("alarm_lambda_metric_math.json"))
    assert sns.key == direct.key


def test_every_sns_record_is_read_and_a_bad_one_does_not_hide_the_others() -> None:
    event = load_event("alarm_sns_threshold.json")
    good = event["Records"][0]
    bad = json.loads(json.dumps(good))
    bad["Sns"]["Message"] = "this is not json"
    composite = load_event("alarm_sns_composite.json")["Records"][0]
    found = parse_event({"Records": [good, bad, composite]})
    assert [type(f).__name__ for f in found] == ["AlarmEvent", "Malformed", "AlarmEvent"]
    assert "not JSON" in found[1].reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"AlarmArn": "arn:aws:sns:eu-west-1:123456789012:topic"}, "not a CloudWatch alarm ARN"),
        ({"NewStateValue": "ON_FIRE"}, "unknown alarm state 'ON_FIRE'"),
        ({"StateChangeTime": "yesterday"}, "unreadable state change time"),
        ({"StateChangeTime": None}, "no state change time"),
        ({"AlarmName": "someone-else"}, "does not match its ARN"),
    ],
)
def test_malformed_messages_say_why(change: dict, reason: str) -> None:
    event = load_event("alarm_sns_threshold.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(change)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    [found] = parse_event(event)
    assert isinstance(found, Malformed) and reason in found.reason


@pytest.mark.parametrize("event", [None, [], {"hello": "world"}, {"Records": [{"Sns": {}}]}])
def test_things_that_are_not_alarms_are_malformed(event: object) -> None:
    assert all(isinstance(f, Malformed) for f in parse_event(event))


def test_eventbridge_event_from_another_source_is_rejected() -> None:
    event = load_event("alarm_eventbridge_threshold.json")
    event["source"] = "my.app"
    [found] = parse_event(event)
    assert isinstance(found, Malformed) and "not aws.cloudwatch" in found.reason


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_state_change_time_out_of_range_is_malformed_not_an_overflow(text: str) -> None:
    with pytest.raises(MalformedAlarm, match="out of range"):
        parse_time(text)
