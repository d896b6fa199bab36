"""`notify` and the handler: a local webhook answering 2xx, 4xx, 5xx and too slowly; the secret read
once and cached; every SNS record handled; malformed messages rejected without side effects."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.responders import handler as responder_handler
from functions.responders.handler import ResponderFailed, run
from functions.responders.settings import settings_of
from functions.runtime import settings
from tests.conftest import load_event
from tests.test_responders_helpers import (
    MARKERS,
    NOW,
    capacity,
    dynamodb_job,
    job_for,
    make_table,
    put_alarm,
    run_once,
    sns_event,
    world,
)

ALARM = "acme-ops-responder-page-sre"


class Hook(BaseHTTPRequestHandler):
    status = 200
    delay = 0.0
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        time.sleep(type(self).delay)
        try:
            self.send_response(type(self).status)
            self.end_headers()
            self.wfile.write(b"ok")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow case: the client has given up

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[Hook]]]:
    handler = type("TestHook", (Hook,), {"status": 200, "delay": 0.0, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings._secrets.clear()  # the per-container cache must not leak between tests
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret", handler
    server.shutdown()
    server.server_close()


def notify_job(**changes: Any) -> dict[str, Any]:
    item = {
        "name": "page-sre", "action": "notify", "webhook_secret": "ops/slack", "webhook_timeout": 1,
        "alarm": {"namespace": "AWS/DynamoDB", "metric": "ConsumedReadCapacityUnits",
                  "dimensions": {"TableName": "users"}, "threshold": 4800, "comparison": ">="},
    }  # fmt: skip
    return job_for(**{**item, **changes})


def with_secret(deps: Any, url: str) -> None:
    deps.clients("secretsmanager").create_secret(Name="ops/slack", SecretString=url)


def test_2xx_posts_a_readable_alarm(hook) -> None:  # type: ignore[no-untyped-def]
    url, server = hook
    with world() as deps:
        with_secret(deps, url)
        put_alarm(deps, ALARM)
        outcome = run_once(notify_job(), sns_event(ALARM), deps)
    assert (outcome.status, outcome.reason) == ("acted", "posted the ALARM to the webhook")
    [posted] = server.received
    text = posted["text"]
    assert posted["blocks"][0]["text"]["text"] == text
    for expected in (
        "*ALARM*: acme-ops-responder-page-sre",
        "AWS/DynamoDB ConsumedReadCapacityUnits TableName=users (SUM/60s)",
        "*Threshold*: >= 4800",
        "*Value*: 5100",
        "*Region*: eu-west-1",
        "*Account*: 123456789012",
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#alarmsV2:alarm/acme-ops-responder-page-sre",
    ):
        assert expected in text


@pytest.mark.parametrize(("status", "delay", "error"), [
    (404, 0.0, "answered HTTP 404"),
    (500, 0.0, "answered HTTP 500"),
    (200, 2.5, "timed out"),
])  # fmt: skip
def test_a_webhook_failure_fails_the_invocation_and_the_retry_posts_again(
    hook, status: int, delay: float, error: str
) -> None:  # type: ignore[no-untyped-def]
    url, server = hook
    server.status, server.delay = status, delay
    with world() as deps:
        with_secret(deps, url)
        put_alarm(deps, ALARM)
        report = run(settings_of(notify_job()), sns_event(ALARM), deps, NOW)
        [outcome] = report["outcomes"]
        assert outcome["status"] == "failed" and error in outcome["reason"]
        assert "/services/" not in outcome["reason"]  # the URL path is the secret: never logged
        server.status, server.delay = 200, 0.0
        retry = run(settings_of(notify_job()), sns_event(ALARM), deps, NOW)
    assert retry["outcomes"][0]["status"] == "acted"
    assert len(server.received) == 2


def test_the_secret_is_read_once_and_cached(hook) -> None:  # type: ignore[no-untyped-def]
    url, server = hook
    with world() as deps:
        with_secret(deps, url)
        put_alarm(deps, ALARM)
        reads: list[str] = []
        sm = deps.clients("secretsmanager")
        sm.meta.events.register("before-call.secrets-manager.GetSecretValue",
                                lambda **kw: reads.append("read"))  # fmt: skip
        for minute in range(3):
            run_once(notify_job(), sns_event(ALARM, changed_at=NOW.replace(minute=minute)), deps)
    assert len(server.received) == 3 and reads == ["read"]


def test_a_plain_http_webhook_elsewhere_is_refused(hook) -> None:  # type: ignore[no-untyped-def]
    with world() as deps:
        with_secret(deps, "http://hooks.example.com/services/x")
        put_alarm(deps, ALARM)
        report = run(settings_of(notify_job()), sns_event(ALARM), deps, NOW)
    assert "does not hold an https:// webhook URL" in report["outcomes"][0]["reason"]


def test_dry_run_of_an_action_notifies_what_it_would_do(hook) -> None:  # type: ignore[no-untyped-def]
    url, server = hook
    with world() as deps:
        with_secret(deps, url)
        make_table(deps)
        put_alarm(deps)
        outcome = run_once(
            dynamodb_job(dry_run=True, webhook_secret="ops/slack"), sns_event(), deps
        )
        assert capacity(deps) == (100, 10)
    assert outcome.notified == "sent"
    assert (
        "dry run: would set read capacity of dynamodb:table/users: 100 -> 150"
        in (server.received[0]["text"])
    )


def test_every_sns_record_is_handled_and_a_malformed_one_is_only_logged(capsys) -> None:  # type: ignore[no-untyped-def]
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        first = sns_event()["Records"][0]
        broken = {**first, "Sns": {**first["Sns"], "Message": "{not json"}}
        other = sns_event(changed_at=NOW)["Records"][0]  # a second change of the same alarm
        report = run(settings_of(dynamodb_job()), {"Records": [first, broken, other]}, deps, NOW)
        assert [o["status"] for o in report["outcomes"]] == ["acted", "rejected", "acted"]
        assert capacity(deps) == (225, 10)
    assert (
        "rejected: malformed alarm message: the SNS message is not JSON" in capsys.readouterr().out
    )


def test_a_malformed_event_has_no_side_effect(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    with world() as deps:
        make_table(deps)
        monkeypatch.setenv("OPS_JOB", json.dumps(dynamodb_job()))
        monkeypatch.setenv("OPS_MARKER_TABLE", MARKERS)
        result = responder_handler.handler({"Records": [{"Sns": {"Message": "[]"}}]}, None)
        assert result["outcomes"][0]["status"] == "rejected"
        assert deps.clients("dynamodb").scan(TableName=MARKERS)["Items"] == []
        assert capacity(deps) == (100, 10)
    line = next(json.loads(x) for x in capsys.readouterr().out.splitlines() if "rejected" in x)
    assert line["level"] == "ERROR" and line["received"].startswith('{"Sns"')


def test_handler_fails_after_reporting_when_an_action_failed(hook, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url, server = hook
    server.status = 503
    with world() as deps:
        with_secret(deps, url)
        put_alarm(deps, ALARM)
        monkeypatch.setenv("OPS_JOB", json.dumps(notify_job()))
        monkeypatch.setenv("OPS_MARKER_TABLE", MARKERS)
        with pytest.raises(ResponderFailed, match="answered HTTP 503"):
            responder_handler.handler(sns_event(ALARM), None)


def eventbridge_event(name: str, recent: list[Any]) -> dict[str, Any]:
    """The EventBridge fixture, re-targeted at `name`, with the given recent datapoints."""
    event = load_event("alarm_eventbridge_threshold.json")
    event["resources"] = [f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"]
    event["detail"]["alarmName"] = name
    state = event["detail"]["state"]
    reason = json.loads(state["reasonData"])
    reason["recentDatapoints"] = recent
    state["reasonData"] = json.dumps(reason)
    return event


def test_a_non_numeric_datapoint_is_posted_as_unreadable(hook) -> None:  # type: ignore[no-untyped-def]
    """Bug: `Unknown format code 'g' for object of type 'str'` failed every retry, and the
    notification was lost. The alarm is posted, saying the value could not be read."""
    url, server = hook
    with world() as deps:
        with_secret(deps, url)
        put_alarm(deps, ALARM)
        report = run(settings_of(notify_job()), eventbridge_event(ALARM, ["n/a"]), deps, NOW)
    [outcome] = report["outcomes"]
    assert outcome["status"] == "acted", outcome
    [posted] = server.received
    assert "*Value*: unreadable (the alarm reported 'n/a')" in posted["text"]
    assert "*Threshold*: 4800" in posted["text"]


def test_a_failed_webhook_after_an_action_fails_the_invocation_once(hook, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Bug: a non-2xx answer only set `notified`, the invocation succeeded, and neither the retry
    nor the dead-letter queue saw it. Now it raises, after the action is recorded as done."""
    url, server = hook
    server.status = 500
    with world() as deps:
        with_secret(deps, url)
        make_table(deps)
        put_alarm(deps)
        monkeypatch.setenv("OPS_JOB", json.dumps(dynamodb_job(webhook_secret="ops/slack")))
        monkeypatch.setenv("OPS_MARKER_TABLE", MARKERS)
        with pytest.raises(ResponderFailed, match=r"acted .*then webhook failed: .*HTTP 500"):
            responder_handler.handler(sns_event(), None)
        assert capacity(deps) == (150, 10)
        server.status = 200
        retry = responder_handler.handler(sns_event(), None)  # Lambda's retry: a duplicate
        assert retry["outcomes"][0]["code"] == "duplicate"
        assert capacity(deps) == (150, 10)


def test_an_error_after_the_action_keeps_the_claim(hook) -> None:  # type: ignore[no-untyped-def]
    """Bug: a Secrets Manager error after UpdateTable released the marker and the retry scaled
    again (100 -> 150 -> 225). The secret here does not exist."""
    with world() as deps:
        make_table(deps)
        put_alarm(deps)
        job = dynamodb_job(webhook_secret="ops/missing")
        first = run(settings_of(job), sns_event(), deps, NOW)
        retry = run(settings_of(job), sns_event(), deps, NOW)
        assert capacity(deps) == (150, 10)
    [acted], [again] = first["outcomes"], retry["outcomes"]
    assert acted["status"] == "acted" and "ResourceNotFoundException" in acted["notified"]
    assert (again["status"], again["code"]) == ("skipped", "duplicate")


def test_an_alarm_of_another_account_is_skipped_without_a_claim(hook) -> None:  # type: ignore[no-untyped-def]
    """Bug: an alarm whose ARN names another account was posted, claimed, and the DynamoDB
    responder planned a change to the local table of the same name."""
    url, server = hook
    with world() as deps:
        with_secret(deps, url)
        make_table(deps)
        put_alarm(deps)
        put_alarm(deps, ALARM)
        foreign = sns_event(account="999999999999")
        scaled = run(settings_of(dynamodb_job(webhook_secret="ops/slack")), foreign, deps, NOW)
        told = run(settings_of(notify_job()), sns_event(ALARM, account="999999999999"), deps, NOW)
        assert capacity(deps) == (100, 10)
        assert deps.clients("dynamodb").scan(TableName=MARKERS)["Items"] == []
    for report in (scaled, told):
        [outcome] = report["outcomes"]
        assert (outcome["status"], outcome["code"]) == ("skipped", "other-account")
        assert (
            "alarm of account 999999999999; this responder acts in 123456789012"
            in (outcome["reason"])
        )
    assert server.received == []
