"""Where people are told: the same notice as a Microsoft Teams message or a PagerDuty Events v2
event, beside each family's own Slack-compatible JSON.

- **slack** (the default): the family's payload, unchanged; the secret holds the webhook URL.
- **teams**: an Adaptive Card in the `{"type": "message", "attachments": [...]}` envelope that a
  Teams Workflows "webhook request" trigger (and the older incoming webhooks) accept; the secret
  holds the workflow's URL.
- **pagerduty**: an Events API v2 event; the secret holds the integration's routing key, or JSON
  `{"routing_key": ..., "url": ...}` for another endpoint (the EU service region's). The notice's
  dedup key makes a repeat the same incident, and a resolved notice (an alarm back to OK)
  resolves it.

Every URL is https (plain http to a local listener alone): see `settings.webhook_url`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from functions.runtime import settings

FORMATS = ("slack", "teams", "pagerduty")
PAGERDUTY_EVENTS = "https://events.pagerduty.com/v2/enqueue"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{20,64}$")


@dataclass(frozen=True)
class Notice:
    """What to tell, before its format."""

    title: str
    lines: tuple[str, ...]
    link: str | None
    severity: str  # PagerDuty's: critical, error, warning or info
    resolved: bool  # the condition is over (an alarm back to OK)
    dedup_key: str  # the same incident each time it is told
    source: str  # where it happened (an alarm ARN, a log group)


def target(fmt: str, secret_id: str, client: Any) -> tuple[str, str | None]:
    """(URL, routing key) for `fmt`; raises `settings.SettingsError` naming the secret, never
    its value."""
    if fmt != "pagerduty":
        return settings.webhook_url(secret_id, client), None
    raw = settings.secret(secret_id, client).strip()
    url, key = PAGERDUTY_EVENTS, raw
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            data = None
        key = str(data.get("routing_key") or "") if isinstance(data, dict) else ""
        if isinstance(data, dict) and data.get("url"):
            url = settings.webhook_url(secret_id, client)  # the same https rule
    if not _ROUTING_KEY.match(key):
        raise settings.SettingsError(
            f"secret {secret_id!r} does not hold a PagerDuty routing key "
            "(or JSON with 'routing_key')"
        )
    return url, key


def body(fmt: str, notice: Notice, routing_key: str | None = None) -> dict[str, Any]:
    """The JSON to post for `fmt` ("teams" or "pagerduty")."""
    if fmt == "teams":
        return teams(notice)
    if fmt == "pagerduty":
        assert routing_key, "target() gives pagerduty its routing key"
        return pagerduty(notice, routing_key)
    raise ValueError(f"no generic body for {fmt!r}: slack uses the family's own payload")


def teams(notice: Notice) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": notice.title, "weight": "Bolder", "size": "Medium",
         "wrap": True},
        *({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"}
          for line in notice.lines),
    ]  # fmt: skip
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
    }
    if notice.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in the console",
                            "url": notice.link}]  # fmt: skip
    return {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "content": card}]}


def pagerduty(notice: Notice, routing_key: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if notice.resolved else "trigger",
        "dedup_key": notice.dedup_key[:255],
    }
    if not notice.resolved:
        event["payload"] = {
            "summary": notice.title[:1024],
            "source": notice.source[:255],
            "severity": notice.severity,
            "custom_details": {"details": list(notice.lines)},
        }
        if notice.link:
            event["links"] = [{"href": notice.link, "text": "Open in the console"}]
    return event
