"""Where pattern alerts go: an SNS topic or a webhook whose URL is a Secrets Manager secret.

A sink either delivers or raises `SinkError`: the handler lets it propagate so the asynchronous
retry and the dead-letter destination keep the batch. Both sinks carry a deduplication key (a hash
of the batch's log event ids) because CloudWatch Logs delivers at least once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from functions.runtime import chat
from functions.runtime.budget import TimeBudget
from functions.runtime.settings import SettingsError

SNS_SUBJECT_MAX = 100
SNS_ATTRIBUTE_MAX = 256  # we keep attribute values short; SNS allows more, filters want less
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class SinkError(RuntimeError):
    """The alert was not delivered; raised so the batch is retried or dead-lettered."""


class Sink(Protocol):
    def send(self, alert: dict[str, Any], budget: TimeBudget) -> str: ...


@dataclass
class SnsSink:
    """Publish to a topic; FIFO topics also get SNS's own deduplication id."""

    client: Any
    topic_arn: str

    def send(self, alert: dict[str, Any], budget: TimeBudget) -> str:
        params: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Subject": subject(alert)[:SNS_SUBJECT_MAX],
            "Message": json.dumps(alert, indent=2, sort_keys=True),
            "MessageAttributes": _attributes(alert),
        }
        if self.topic_arn.endswith(".fifo"):
            params["MessageGroupId"] = str(alert["processor"])
            params["MessageDeduplicationId"] = str(alert["dedupe_key"])[:128]
        try:
            # botocore's standard retry mode already backs off on throttling and 5xx.
            return str(self.client.publish(**params)["MessageId"])
        except Exception as exc:  # botocore errors, without importing botocore at load
            raise SinkError(f"SNS publish to {self.topic_arn} failed: {exc}") from exc


def _attributes(alert: dict[str, Any]) -> dict[str, Any]:
    values = {
        "processor": alert["processor"],
        "log_group": alert["log_group"],
        "dedupe_key": alert["dedupe_key"],
        "first_event_id": alert["first_event_id"],
    }
    return {
        k: {"DataType": "String", "StringValue": str(v)[:SNS_ATTRIBUTE_MAX]}
        for k, v in values.items()
        if v
    }


def subject(alert: dict[str, Any]) -> str:
    return f"ops {alert['processor']}: {alert['count']} matching lines in {alert['log_group']}"


Opener = Callable[..., Any]


@dataclass
class WebhookSink:
    """POST the alert to a URL kept in Secrets Manager (never in the template or zip): as the
    alert's own JSON (`slack`, the default), a Teams card or a PagerDuty event
    (functions.runtime.chat)."""

    secrets_client: Any
    secret_id: str
    format: str = "slack"
    opener: Opener | None = None  # urllib.request.urlopen unless a test injects one
    attempts: int = 3
    backoff_seconds: float = 0.5  # before the second try; doubled before each later one

    def target(self) -> tuple[str, str | None]:
        try:  # https only (plain http to a local listener alone): the URL is a credential
            return chat.target(self.format, self.secret_id, self.secrets_client)
        except SettingsError as bad:
            raise SinkError(str(bad)) from None

    def send(self, alert: dict[str, Any], budget: TimeBudget) -> str:
        url, routing_key = self.target()
        payload = (
            alert if self.format == "slack" else chat.body(self.format, notice(alert), routing_key)
        )
        body = json.dumps(payload, sort_keys=True).encode()
        for attempt in range(1, self.attempts + 1):
            status, detail = self._post(url, body, alert["dedupe_key"])
            if 200 <= status < 300:
                return f"HTTP {status}"
            delay = self.backoff_seconds * 2 ** (attempt - 1)
            if status not in RETRYABLE_STATUS or attempt == self.attempts or budget.left() < delay:
                break
            self.pause(delay)
        raise SinkError(f"webhook answered {status or 'nothing'} after {attempt} tries: {detail}")

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def _post(self, url: str, body: bytes, key: str) -> tuple[int, str]:
        import urllib.error
        import urllib.request  # imported on first send: it pulls in http.client and ssl

        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
        opener = self.opener or urllib.request.urlopen
        try:
            with opener(request, timeout=10) as response:
                return int(response.status), ""
        except urllib.error.HTTPError as exc:
            return int(exc.code), str(exc.reason)
        except (urllib.error.URLError, OSError) as exc:
            return 503, str(exc)  # unreachable counts as retryable


def notice(alert: dict[str, Any]) -> chat.Notice:
    """A pattern alert for Teams and PagerDuty: one incident per log group and batch of lines."""
    count, group = alert["count"], alert["log_group"]
    lines = [f"{line['time']} {line['message']}" for line in alert.get("lines", [])]
    if alert.get("suppressed_before"):
        lines.append(f"{alert['suppressed_before']} earlier matches were rate-limited")
    return chat.Notice(
        title=f"{alert['processor']}: {count} matching line{'s' if count != 1 else ''} in {group}",
        lines=(
            f"{alert['first_time']} to {alert['last_time']}, stream {alert['log_stream']}",
            *lines,
        ),
        link=alert.get("link"),
        severity="error",
        resolved=False,
        dedup_key=str(alert["dedupe_key"]),
        source=str(group),
    )
