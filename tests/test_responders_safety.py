"""What a responder must survive: events of any shape (rejected with a reason, never a crash, and
no AWS call for a rejected record), the real Lambda context (no `timeout` attribute)."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import Mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.responders import handler as responder_handler
from functions.responders.alarm import Malformed, parse_event
from functions.responders.handler import account_of, lease_seconds, run
from functions.responders.markers import MarkerStore
from functions.responders.respond import Deps
from functions.responders.settings import settings_of
from tests.conftest import REGION, load_event
from tests.test_responders_helpers import (
    MARKERS,
    NOW,
    dynamodb_job,
    make_table,
    put_alarm,
    sns_event,
    world,
)


class RealContext:
    """The attributes and method AWS's Python LambdaContext has, and nothing else."""

    function_name = "acme-ops-responder-users-read-capacity"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
    memory_limit_in_mb = "128"
    aws_request_id = "4b1a9a8e-0000-4000-8000-000000000000"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2024/05/20/[$LATEST]0123456789abcdef"
    identity = None
    client_context = None

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms, self.asked = remaining_ms, 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return self.remaining_ms


def test_the_lease_is_the_time_the_invocation_has_left() -> None:
    """Bug: the lease read `context.timeout`, which real contexts lack, so it was always 900 s."""
    context = RealContext(remaining_ms=29_500)
    assert lease_seconds(context) == 30 and context.asked == 1
    assert lease_seconds(None) == 900  # a direct call (tests, scripts) without a context


def test_the_handler_runs_with_a_real_shaped_context(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        monkeypatch.setenv("OPS_JOB", json.dumps(dynamodb_job()))
        monkeypatch.setenv("OPS_MARKER_TABLE", MARKERS)
        context = RealContext(remaining_ms=60_000)
        report = responder_handler.handler(sns_event(), context)
    assert report["outcomes"][0]["status"] == "acted" and context.asked == 1


def test_the_account_comes_from_the_invoked_arn_else_sts() -> None:
    assert account_of(RealContext(1000)) == "123456789012"
    alias = Mock(invoked_function_arn="arn:aws-cn:lambda:cn-north-1:210987654321:function:f:live")
    assert account_of(alias) == "210987654321"
    sts = Mock()
    sts.get_caller_identity.return_value = {"Account": "111122223333"}
    assert account_of(None, sts) == "111122223333"


def eventbridge(**changes: Any) -> dict[str, Any]:
    return {**load_event("alarm_eventbridge_threshold.json"), **changes}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (eventbridge(resources=[]), "names no alarm (resources is empty)"),
        (eventbridge(resources="arn"), "names no alarm"),
        (eventbridge(detail=[]), "no state object"),
        (eventbridge(detail={"state": "ALARM"}), "no state object"),
        ({"Records": ["not a record"]}, "TypeError"),
        ({"Records": [{"Sns": {"Message": json.dumps({"AlarmArn": 1, "Trigger": []})}}]}, ""),
        (
            {"Records": [{"Sns": {"Message": json.dumps({"AlarmArn": "x", "Trigger": {
                "MetricName": "m", "Namespace": "n", "Dimensions": {"a": "b"}}})}}]},
            "Dimensions is not a list",
        ),
    ],
)  # fmt: skip
def test_any_bad_field_is_a_rejection_with_a_reason(event: Any, reason: str) -> None:
    """Bug: `resources: []` raised IndexError out of the parser documented never to raise."""
    [item] = parse_event(event)
    assert isinstance(item, Malformed) and reason in item.reason


def test_a_bad_eventbridge_event_is_rejected_by_the_responder() -> None:
    with world() as deps:
        report = run(settings_of(dynamodb_job()), eventbridge(resources=[]), deps, NOW)
    [outcome] = report["outcomes"]
    assert (outcome["status"], outcome["code"]) == ("rejected", "malformed")


# --- property tests: arbitrary JSON never raises, and a rejected record calls no AWS ----------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
KEYS = st.sampled_from(
    ["Records", "Sns", "Message", "detail-type", "source", "resources", "detail", "alarmData",
     "alarmArn", "state", "value", "timestamp", "reasonData", "configuration", "metrics"]
)  # fmt: skip
SHAPED = st.recursive(
    st.none() | st.integers() | st.text(max_size=20) | st.just("aws.cloudwatch")
    | st.just("CloudWatch Alarm State Change") | st.just("ALARM"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)  # fmt: skip
SNS = JSON.map(lambda body: {"Records": [{"Sns": {"Message": json.dumps(body)}}]})
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.one_of(JSON, SHAPED, SNS))
def test_the_alarm_parser_never_raises(event: Any) -> None:
    for item in parse_event(event):
        assert isinstance(item, Malformed) or item.arn.startswith("arn:")


@FAST
@given(st.one_of(JSON, SHAPED, SNS))
def test_a_rejected_alarm_calls_no_aws(event: Any) -> None:
    clients, markers = Mock(), Mock(spec=MarkerStore)
    deps = Deps(clients, markers, REGION, "123456789012")
    items = parse_event(event)
    if not all(isinstance(i, Malformed) for i in items):
        return  # a readable alarm may go on to AWS; arbitrary JSON almost never is one
    report = run(settings_of(dynamodb_job()), event, deps, NOW)
    assert {o["status"] for o in report["outcomes"]} <= {"rejected"}  # {"Records": []}: none
    assert clients.mock_calls == [] and markers.mock_calls == []
