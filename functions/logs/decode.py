"""Decode a CloudWatch Logs subscription payload once: base64, then gzip, then JSON.

`event["awslogs"]["data"]` is all a subscription delivers. An event without it is not ours and is
rejected before anything happens; a payload that does not decode is reported as malformed, since
retrying the same bytes can never succeed.

Always gzip, never zlib: AWS documents the Lambda subscription payload as "base64 encoded and
compressed with the gzip format" (CloudWatch Logs User Guide, "Subscription filters with AWS
Lambda"; the same gzip for Kinesis and Firehose destinations). There is no zlib variant to fall
back to, so raw zlib or deflate bytes are rejected as "not gzip".
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any, TypedDict

CONTROL_MESSAGE = "CONTROL_MESSAGE"
DATA_MESSAGE = "DATA_MESSAGE"


class NotALogsEvent(ValueError):
    """The event is not a CloudWatch Logs subscription event: nothing was done."""


class MalformedPayload(ValueError):
    """`awslogs.data` is there but does not decode to a subscription message."""


class LogEvent(TypedDict):
    id: str
    timestamp: int
    message: str


@dataclass(frozen=True)
class LogBatch:
    """One subscription message: the events of one log stream, in order."""

    message_type: str
    owner: str
    log_group: str
    log_stream: str
    subscription_filters: tuple[str, ...]
    events: list[LogEvent]  # as decoded: each event is checked where it is used

    @property
    def is_control(self) -> bool:
        return self.message_type == CONTROL_MESSAGE


def awslogs_data(event: Any) -> str:
    """The payload string of a subscription event, or `NotALogsEvent`."""
    awslogs = event.get("awslogs") if isinstance(event, dict) else None
    data = awslogs.get("data") if isinstance(awslogs, dict) else None
    if not isinstance(data, str) or not data:
        raise NotALogsEvent("expected a CloudWatch Logs subscription event with awslogs.data")
    return data


def decode(data: str | bytes) -> LogBatch:
    """base64 -> gzip -> JSON -> `LogBatch`; `MalformedPayload` says which step failed."""
    try:
        raw = gzip.decompress(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise MalformedPayload(f"not base64: {exc}") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedPayload(f"not gzip: {exc}") from None
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, too deep
        raise MalformedPayload(f"not JSON: {type(exc).__name__}: {exc}") from None
    return _batch(message)


def _batch(message: Any) -> LogBatch:
    if not isinstance(message, dict):
        raise MalformedPayload("expected a JSON object")
    kind = message.get("messageType")
    if kind not in (DATA_MESSAGE, CONTROL_MESSAGE):
        raise MalformedPayload(f"unknown messageType {kind!r}")
    events = message.get("logEvents", [])
    group, stream = message.get("logGroup"), message.get("logStream")
    if not isinstance(events, list) or not isinstance(group, str) or not isinstance(stream, str):
        raise MalformedPayload("expected logGroup, logStream and a logEvents list")
    filters = message.get("subscriptionFilters")
    if not isinstance(filters, list):
        filters = []  # informational only: a wrong type does not make the batch unreadable
    return LogBatch(
        message_type=kind,
        owner=str(message.get("owner", "")),
        log_group=group,
        log_stream=stream,
        subscription_filters=tuple(str(f) for f in filters),
        events=events,
    )
