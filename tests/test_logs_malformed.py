"""Malformed subscription payloads are rejected with a reason, never a crash; one bad log event
never drops the others; and, for any input at all, the decoder raises only `MalformedPayload`
and a rejected event calls no AWS."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.logs.decode import MalformedPayload, awslogs_data, decode
from functions.logs.handler import handler, process
from functions.logs.settings import settings_of
from functions.runtime.budget import TimeBudget
from ops.awslogs import encode
from tests.test_logs_decode import log_events, subscription_event
from tests.test_logs_pattern_alert import LINES, NOW, aws, received, sns_job, topic_with_queue  # noqa: F401
from tests.test_logs_report_metrics import JOB, Context

MESSAGE = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/api",
           "logStream": "s", "subscriptionFilters": ["f"], "logEvents": []}  # fmt: skip


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("%%% not base64", "not base64"),
        ("ünïcode", "not base64"),
        (b64(zlib.compress(json.dumps(MESSAGE).encode())), "not gzip"),  # zlib is never sent
        (b64(gzip.compress(json.dumps(MESSAGE).encode())[:-8]), "not gzip"),  # truncated
        (b64(gzip.compress(b"\xff\xfe{")), "not JSON"),
        (b64(gzip.compress(b"[" * 100_000)), "not JSON"),  # too deep for the parser
    ],
)
def test_a_malformed_payload_is_a_rejected_event_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data: str, why: str
) -> None:
    monkeypatch.setenv("OPS_JOB", json.dumps(JOB))
    result = handler({"awslogs": {"data": data}}, Context())
    assert (result["status"], result["code"]) == ("rejected", "malformed")
    assert why in result["reason"]
    assert '"MalformedPayloads":1' in capsys.readouterr().out


def test_subscription_filters_of_the_wrong_type_do_not_make_the_batch_unreadable() -> None:
    """Bug: `subscriptionFilters: 5` raised TypeError out of the decoder."""
    batch = decode(encode({**MESSAGE, "subscriptionFilters": 5}))
    assert batch.subscription_filters == () and batch.log_group == "/aws/lambda/api"


def test_one_event_with_an_impossible_timestamp_does_not_drop_the_alert(
    aws: dict[str, Any],  # noqa: F811
) -> None:
    """Bug: a timestamp beyond datetime's range raised OverflowError and no alert was sent."""
    topic, queue = topic_with_queue(aws)
    events = log_events(LINES)
    events[0]["timestamp"] = 10**20
    batch = decode(awslogs_data(subscription_event("/aws/lambda/api", events=events)))
    result = process(
        batch, settings_of(sns_job(topic)), budget=TimeBudget.seconds(30), clients=aws, now=NOW
    )
    assert (result["sent"], result["matched"]) == (True, 2)
    [message] = received(aws, queue)
    body = json.loads(message["Message"])
    assert body["first_time"] == "" and body["last_time"].startswith("2023-11-14T")


# --- property tests ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "messageType": st.sampled_from(["DATA_MESSAGE", "CONTROL_MESSAGE"]) | JSON,
        "logGroup": st.text(max_size=20) | JSON,
        "logStream": st.text(max_size=20) | JSON,
        "owner": JSON,
        "subscriptionFilters": JSON,
        "logEvents": st.lists(JSON, max_size=4) | JSON,
    },
)
PAYLOADS = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(b64),
    st.binary(max_size=40).map(lambda raw: b64(gzip.compress(raw))),
    JSON.map(lambda value: b64(gzip.compress(json.dumps(value).encode()))),
    FIELDS.map(encode),
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(PAYLOADS)
def test_the_decoder_raises_only_malformed_payload(data: str) -> None:
    try:
        decode(data)
    except MalformedPayload as exc:
        assert str(exc)


@FAST
@given(st.one_of(PAYLOADS.map(lambda d: {"awslogs": {"data": d}}), JSON))
def test_a_rejected_event_calls_no_aws(event: Any) -> None:
    """A pattern-alert job without `$OPS_RATE_TABLE`: anything that went on towards its AWS
    clients would raise SettingsError before a call; rejections must return before that."""
    job = {**sns_job("arn:aws:sns:eu-west-1:123456789012:alerts"), "log_groups": ["/nothing"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPS_JOB", json.dumps(job))
        patch.delenv("OPS_RATE_TABLE", raising=False)
        try:
            awslogs_data(event)
        except ValueError:
            return  # not a subscription event: the handler refuses it before anything
        result = handler(event, Context())
    assert result["status"] in {"rejected", "control-message", "not-selected"}
    if result["status"] == "rejected":
        assert result["reason"]
