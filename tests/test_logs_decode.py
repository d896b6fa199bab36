"""Subscription payloads: decoded once, control messages recognised, bad payloads named."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from functions.logs.decode import (
    MalformedPayload,
    NotALogsEvent,
    awslogs_data,
    decode,
)

FIRST_ID = 37_945_028_512_118_224_733_412_612_345_097_436_720_417_183_301_746_688


def log_events(messages: list[str], start_ms: int = 1_700_000_000_000) -> list[dict[str, Any]]:
    return [
        {"id": str(FIRST_ID + i), "timestamp": start_ms + i, "message": m}
        for i, m in enumerate(messages)
    ]


def subscription_event(
    group: str, messages: list[Any] | None = None, *, kind: str = "DATA_MESSAGE", **extra: Any
) -> dict[str, Any]:
    """What CloudWatch Logs delivers: base64 of gzip of the JSON message, built for real."""
    events = extra.pop("events", None)
    message = {
        "messageType": kind,
        "owner": "123456789012",
        "logGroup": group,
        "logStream": "2025/01/01/[$LATEST]0123456789abcdef",
        "subscriptionFilters": ["acme-ops-logs-x"],
        "logEvents": events if events is not None else log_events(messages or []),
        **extra,
    }
    raw = gzip.compress(json.dumps(message).encode())
    return {"awslogs": {"data": base64.b64encode(raw).decode()}}


def test_decodes_group_stream_and_every_event() -> None:
    event = subscription_event("/aws/lambda/api", ["one\n", "two\n", "three\n"])
    batch = decode(awslogs_data(event))
    assert batch.log_group == "/aws/lambda/api"
    assert batch.log_stream.endswith("0123456789abcdef")
    assert [e["message"] for e in batch.events] == ["one\n", "two\n", "three\n"]
    assert batch.subscription_filters == ("acme-ops-logs-x",)
    assert not batch.is_control


def test_control_message_is_recognised() -> None:
    event = subscription_event(
        "testLogGroup",
        ["CWL CONTROL MESSAGE: Checking health of destination Firehose."],
        kind="CONTROL_MESSAGE",
    )
    assert decode(awslogs_data(event)).is_control


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("not base64 !!!", "not base64"),
        (base64.b64encode(b"plain text, not gzip").decode(), "not gzip"),
        (base64.b64encode(gzip.compress(b"{not json")).decode(), "not JSON"),
        (base64.b64encode(gzip.compress(b"[1, 2]")).decode(), "expected a JSON object"),
        (base64.b64encode(gzip.compress(b'{"messageType": "X"}')).decode(), "messageType"),
        (
            base64.b64encode(gzip.compress(b'{"messageType": "DATA_MESSAGE"}')).decode(),
            "logGroup",
        ),
    ],
)
def test_malformed_payload_says_which_step_failed(data: str, why: str) -> None:
    with pytest.raises(MalformedPayload, match=why):
        decode(data)


@pytest.mark.parametrize(
    "event", [{}, {"Records": []}, {"awslogs": {}}, {"awslogs": {"data": ""}}, [1], None]
)
def test_an_event_that_is_not_a_subscription_is_rejected(event: Any) -> None:
    with pytest.raises(NotALogsEvent):
        awslogs_data(event)
