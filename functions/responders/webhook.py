"""Post an alarm, readable, to a Slack-compatible webhook, whose URL lives in Secrets Manager.

The URL is read at run time (never in the template or the zip) and cached per container by
`functions.runtime.settings.secret`. The secret holds the URL, or JSON with a `url` key. Any answer
outside 2xx, and any timeout, raises `WebhookError`, so the invocation fails and Lambda's
asynchronous retries and the dead-letter destination keep the alarm. urllib, not requests: the
zip carries our code alone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from functions.responders.alarm import AlarmEvent
from functions.responders.settings import ResponderSettings
from functions.runtime import chat, settings

CONSOLE = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
SEVERITY = {"ALARM": "error", "INSUFFICIENT_DATA": "warning", "OK": "info"}
ICONS = {
    "ALARM": ":rotating_light:",
    "OK": ":white_check_mark:",
    "INSUFFICIENT_DATA": ":grey_question:",
}


class WebhookError(Exception):
    """The webhook did not take the message."""


def deliver(
    job: ResponderSettings,
    secrets_client: Any,
    alarm: AlarmEvent,
    outcome: str = "",
    current_state: str | None = None,
    *,
    timeout: int = 5,
) -> int:
    """Tell the job's webhook about `alarm` in its `webhook_format` (slack, teams or
    pagerduty); the HTTP status, `WebhookError` when the secret or the answer is wrong.
    `timeout`: seconds to wait for the answer (notify's `webhook_timeout`)."""
    fmt = job.webhook_format or "slack"
    if not job.webhook_secret:
        raise WebhookError(f"responder {job.name} has no webhook_secret")
    try:
        url, routing_key = chat.target(fmt, job.webhook_secret, secrets_client)
    except settings.SettingsError as bad:
        raise WebhookError(str(bad)) from None
    if fmt == "slack":
        payload = message(alarm, outcome, current_state)
    else:
        payload = chat.body(fmt, notice(alarm, outcome, current_state), routing_key)
    return post(url, payload, timeout=timeout)


def notice(alarm: AlarmEvent, outcome: str = "", current_state: str | None = None) -> chat.Notice:
    """The alarm for Teams and PagerDuty: one incident per alarm, resolved when it is OK."""
    lines = [line.replace("*", "") for line in _details(alarm)]
    if current_state and current_state != alarm.state:
        lines.append(f"Now: {current_state}")
    if outcome:
        lines.append(f"Responder: {outcome}")
    return chat.Notice(
        title=f"{alarm.state}: {alarm.name}",
        lines=tuple(lines),
        link=console_link(alarm),
        severity=SEVERITY.get(alarm.state, "warning"),
        resolved=alarm.state == "OK",
        dedup_key=alarm.arn,
        source=alarm.arn,
    )


def post(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST JSON; the HTTP status on 2xx, `WebhookError` otherwise."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    host = urllib.parse.urlsplit(url).hostname  # never log the path: it is the secret part
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"webhook at {host} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(f"webhook at {host} failed: {reason}") from None
    if not 200 <= status < 300:
        raise WebhookError(f"webhook at {host} answered HTTP {status}")
    return status


def console_link(alarm: AlarmEvent) -> str:
    domain = CONSOLE.get(alarm.partition, CONSOLE["aws"])
    name = urllib.parse.quote(alarm.name, safe="")
    return (
        f"https://{alarm.region}.{domain}/cloudwatch/home?region={alarm.region}"
        f"#alarmsV2:alarm/{name}"
    )


def message(
    alarm: AlarmEvent, outcome: str = "", current_state: str | None = None
) -> dict[str, Any]:
    """Slack-compatible JSON: a `text` fallback and one mrkdwn section."""
    title = f"{ICONS.get(alarm.state, '')} *{alarm.state}*: {alarm.name}".strip()
    lines = [title, *_details(alarm)]
    if current_state and current_state != alarm.state:
        lines.append(f"*Now*: {current_state}")
    if outcome:
        lines.append(f"*Responder*: {outcome}")
    lines.append(f"<{console_link(alarm)}|Open in the CloudWatch console>")
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _details(alarm: AlarmEvent) -> list[str]:
    lines = []
    if alarm.description:
        lines.append(alarm.description)
    for metric in alarm.metrics:
        dims = ", ".join(f"{k}={v}" for k, v in sorted(metric.dimensions.items()))
        stat = f" ({metric.stat}/{metric.period}s)" if metric.stat else ""
        lines.append(f"*Metric*: {metric.namespace} {metric.name} {dims}{stat}".rstrip())
    if alarm.expression:
        lines.append(f"*Expression*: `{alarm.expression}`")
    if alarm.kind == "composite":
        lines.append("*Composite alarm*")
    if alarm.threshold is not None:
        lines.append(
            f"*Threshold*: {alarm.comparison or ''} {_number(alarm.threshold)}".replace("  ", " ")
        )
    if alarm.value is not None:
        lines.append(f"*Value*: {_number(alarm.value)}")
    elif alarm.value_unreadable is not None:
        lines.append(f"*Value*: unreadable (the alarm reported {alarm.value_unreadable})")
    lines.append(f"*Reason*: {alarm.reason}" if alarm.reason else "")
    lines.append(f"*Region*: {alarm.region}  *Account*: {alarm.account}")
    return [line for line in lines if line]


def _number(value: Any) -> str:
    """`:g` for numbers; whatever else arrived is said to be unreadable, never a crash that
    would lose the notification."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return f"unreadable ({value!r:.50})"
