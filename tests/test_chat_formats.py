"""Teams and PagerDuty Events v2 beside Slack: what the notify responder, a responder's report
and a pattern alert post in each format, and a secret that holds the wrong thing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.runtime import chat, settings
from tests.test_logs_pattern_alert import LINES, alert, webhook_job
from tests.test_logs_pattern_alert import NOW as LOG_NOW
from tests.test_logs_pattern_alert import Hook as LogHook
from tests.test_logs_pattern_alert import aws as aws  # the moto fixture
from tests.test_logs_pattern_alert import webhook as webhook  # the local listener fixture
from tests.test_responders_helpers import put_alarm, run_once, sns_event, world
from tests.test_responders_notify import ALARM, notify_job
from tests.test_responders_notify import hook as hook  # the responders' local listener

KEY = "R0UT1NGKEYR0UT1NGKEY0123456789ab"
NOTICE = chat.Notice(
    title="ALARM: disk", lines=("Value: 91",), link="https://console.example/x",
    severity="error", resolved=False, dedup_key="arn:alarm:disk", source="arn:alarm:disk",
)  # fmt: skip


def test_teams_is_an_adaptive_card_in_a_message_envelope() -> None:
    body = chat.body("teams", NOTICE)
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert [b["text"] for b in card["body"]] == ["ALARM: disk", "Value: 91"]
    assert card["actions"][0]["url"] == "https://console.example/x"


def test_pagerduty_triggers_then_resolves_the_same_incident() -> None:
    trigger = chat.body("pagerduty", NOTICE, KEY)
    assert (trigger["routing_key"], trigger["event_action"]) == (KEY, "trigger")
    assert trigger["dedup_key"] == "arn:alarm:disk"
    assert trigger["payload"] == {
        "summary": "ALARM: disk", "source": "arn:alarm:disk", "severity": "error",
        "custom_details": {"details": ["Value: 91"]},
    }  # fmt: skip
    ok = chat.Notice(**{**NOTICE.__dict__, "resolved": True})
    assert chat.body("pagerduty", ok, KEY) == {
        "routing_key": KEY, "event_action": "resolve", "dedup_key": "arn:alarm:disk",
    }  # fmt: skip


class Secrets:
    def __init__(self, value: str) -> None:
        self.value = value

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        return {"SecretString": self.value}


@pytest.mark.parametrize(
    ("held", "target"),
    [
        (KEY, (chat.PAGERDUTY_EVENTS, KEY)),
        (json.dumps({"routing_key": KEY}), (chat.PAGERDUTY_EVENTS, KEY)),
        (
            json.dumps({"routing_key": KEY, "url": "https://events.eu.pagerduty.com/v2/enqueue"}),
            ("https://events.eu.pagerduty.com/v2/enqueue", KEY),
        ),
    ],
)
def test_a_pagerduty_secret_holds_the_routing_key(held: str, target: tuple[str, str]) -> None:
    settings._secrets.clear()
    assert chat.target("pagerduty", "ops/pd", Secrets(held)) == target


@pytest.mark.parametrize(
    "held",
    ["https://hooks.slack.com/services/T/B/X", "short", json.dumps({"url": "https://x.y/"}),
     json.dumps({"routing_key": KEY, "url": "http://events.pagerduty.com/v2/enqueue"})],
)  # fmt: skip
def test_a_pagerduty_secret_without_a_key_or_with_plain_http_is_refused(held: str) -> None:
    settings._secrets.clear()
    with pytest.raises(settings.SettingsError) as refused:
        chat.target("pagerduty", "ops/pd", Secrets(held))
    assert "ops/pd" in str(refused.value) and KEY not in str(refused.value)


def _listener_secret(deps: Any, fmt: str, url: str) -> None:
    value = json.dumps({"routing_key": KEY, "url": url}) if fmt == "pagerduty" else url
    deps.clients("secretsmanager").create_secret(Name="ops/slack", SecretString=value)


@pytest.mark.parametrize("state", ["ALARM", "OK"])
def test_the_notify_responder_posts_pagerduty_events(hook, state: str) -> None:  # type: ignore[no-untyped-def]
    url, server = hook
    with world() as deps:
        _listener_secret(deps, "pagerduty", url)
        put_alarm(deps, ALARM, state=state)
        run_once(notify_job(webhook_format="pagerduty"), sns_event(ALARM, state=state), deps)
    [event] = server.received
    assert event["routing_key"] == KEY and event["dedup_key"].endswith(f":alarm:{ALARM}")
    assert event["event_action"] == ("trigger" if state == "ALARM" else "resolve")
    if state == "ALARM":
        assert event["payload"]["severity"] == "error"
        assert event["payload"]["summary"] == f"ALARM: {ALARM}"
        assert any(
            "Threshold: >= 4800" in line for line in event["payload"]["custom_details"]["details"]
        )


def test_the_notify_responder_posts_a_teams_card(hook) -> None:  # type: ignore[no-untyped-def]
    url, server = hook
    with world() as deps:
        _listener_secret(deps, "teams", url)
        put_alarm(deps, ALARM)
        run_once(notify_job(webhook_format="teams"), sns_event(ALARM), deps)
    [message] = server.received
    card = message["attachments"][0]["content"]
    assert card["body"][0]["text"] == f"ALARM: {ALARM}"
    assert "cloudwatch/home?region=eu-west-1#alarmsV2:alarm/" in card["actions"][0]["url"]


@pytest.mark.parametrize("fmt", ["teams", "pagerduty"])
def test_a_pattern_alert_posts_teams_and_pagerduty(
    aws: dict[str, Any], webhook: str, fmt: str
) -> None:
    value = json.dumps({"routing_key": KEY, "url": webhook}) if fmt == "pagerduty" else webhook
    aws["secretsmanager"].create_secret(Name="acme/hook", SecretString=value)
    result = alert(aws, webhook_job(webhook_format=fmt), LINES, LOG_NOW)
    assert result["sent"]
    [body] = LogHook.bodies
    if fmt == "teams":
        title = body["attachments"][0]["content"]["body"][0]["text"]
        assert title.startswith("payments: ") and "/aws/lambda/api" in title
    else:
        assert (body["event_action"], body["routing_key"]) == ("trigger", KEY)
        assert body["payload"]["source"] == "/aws/lambda/api"
        assert body["dedup_key"] == LogHook.keys[0]  # the same key the Idempotency-Key carries


@pytest.mark.parametrize(
    ("example", "after", "says"),
    [
        ("responders.toml", 'name = "events-write-idle"', "webhook_format: only a webhook_secret"),
        ("log-processors.toml", 'topic = "arn:aws:sns:eu-west-1:123456789012:acme-errors"',
         "webhook_format: only a webhook_secret is posted in it"),
    ],
)  # fmt: skip
def test_a_format_with_no_webhook_to_post_in_is_a_config_error(
    write_config, example: str, after: str, says: str
) -> None:
    from ops.config import load_config
    from ops.errors import ConfigError
    from tests.conftest import ROOT

    text = (ROOT / "examples" / example).read_text()
    assert after in text
    with pytest.raises(ConfigError) as bad:
        load_config(write_config(text.replace(after, f'{after}\nwebhook_format = "teams"', 1)))
    assert says in bad.value.message


def test_an_unknown_format_names_the_ones_there_are(write_config) -> None:
    from ops.config import load_config
    from ops.errors import ConfigError
    from tests.conftest import ROOT

    text = (ROOT / "examples" / "responders.toml").read_text()
    text = text.replace(
        'webhook_secret = "ops/slack-webhook"',
        'webhook_secret = "ops/slack-webhook"\nwebhook_format = "email"',
        1,
    )
    with pytest.raises(ConfigError) as bad:
        load_config(write_config(text))
    assert (
        "webhook_format: expected 'slack' or 'teams' or 'pagerduty', got a string 'email'"
        in bad.value.message
    )
