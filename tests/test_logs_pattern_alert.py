"""Pattern alerts: SNS and webhook sinks, one message per flood, failures kept for retry."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.logs.decode import awslogs_data, decode
from functions.logs.handler import process
from functions.logs.settings import settings_of
from functions.logs.sinks import SinkError, WebhookSink
from functions.runtime import settings
from functions.runtime.budget import TimeBudget
from tests.conftest import REGION
from tests.test_logs_decode import subscription_event
from tests.test_logs_report_metrics import job_for

NOW = datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC)
TABLE = "acme-rate"
LINES = ["[ERROR] payment failed: declined\n", "[INFO] fine\n", "[ERROR] payment failed: timeout\n"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("OPS_RATE_TABLE", TABLE)
    settings._secrets.clear()
    with mock_aws():
        clients = {s: boto3.client(s, region_name=REGION) for s in ("sns", "sqs", "dynamodb")}
        clients["secretsmanager"] = boto3.client("secretsmanager", region_name=REGION)
        clients["dynamodb"].create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield clients


def topic_with_queue(clients: dict[str, Any]) -> tuple[str, str]:
    topic = clients["sns"].create_topic(Name="alerts")["TopicArn"]
    queue = clients["sqs"].create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = clients["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    clients["sns"].subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    return topic, queue


def received(clients: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    answer = clients["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def alert(clients: dict[str, Any], job: dict[str, Any], lines: list[str], now: datetime) -> Any:
    batch = decode(awslogs_data(subscription_event("/aws/lambda/api", lines)))
    return process(batch, settings_of(job), budget=TimeBudget.seconds(30), clients=clients, now=now)


def sns_job(topic: str, **extra: Any) -> dict[str, Any]:
    job = job_for(name="errors", action="pattern-alert", topic=topic, pattern=r"\[ERROR\]")
    return {**job, **extra}


def test_a_flood_becomes_one_sns_message_with_a_count(aws: dict[str, Any]) -> None:
    topic, queue = topic_with_queue(aws)
    first = alert(aws, sns_job(topic), LINES, NOW)
    second = alert(aws, sns_job(topic), LINES * 40, NOW + timedelta(seconds=5))
    assert (first["sent"], first["matched"]) == (True, 2)
    assert (second["sent"], second["suppressed"]) == (False, 80)
    [message] = received(aws, queue)
    body = json.loads(message["Message"])
    assert body["count"] == 2 and body["log_group"] == "/aws/lambda/api"
    assert [line["message"] for line in body["lines"]] == [LINES[0][:-1], LINES[2][:-1]]
    assert "logsV2:log-groups/log-group/$252Faws$252Flambda$252Fapi" in body["link"]
    assert message["MessageAttributes"]["dedupe_key"]["Value"] == body["dedupe_key"]
    assert message["Subject"].startswith("ops errors: 2 matching lines")


def test_next_window_reports_what_was_suppressed(aws: dict[str, Any]) -> None:
    topic, queue = topic_with_queue(aws)
    alert(aws, sns_job(topic), LINES, NOW)
    alert(aws, sns_job(topic), LINES * 5, NOW + timedelta(seconds=10))
    later = alert(aws, sns_job(topic), LINES, NOW + timedelta(minutes=5))
    assert later["sent"]
    bodies = [json.loads(m["Message"]) for m in received(aws, queue)]
    assert sorted(b["suppressed_before"] for b in bodies) == [0, 10]


def test_the_same_batch_again_carries_the_same_dedupe_key(aws: dict[str, Any]) -> None:
    topic, queue = topic_with_queue(aws)
    job = sns_job(topic, max_messages=2)
    alert(aws, job, LINES, NOW)
    alert(aws, job, LINES, NOW + timedelta(seconds=1))  # at-least-once: a redelivery
    keys = {json.loads(m["Message"])["dedupe_key"] for m in received(aws, queue)}
    assert len(keys) == 1


def test_a_failing_topic_raises_and_gives_the_slot_back(aws: dict[str, Any]) -> None:
    missing = f"arn:aws:sns:{REGION}:123456789012:gone"
    with pytest.raises(SinkError, match="gone"):
        alert(aws, sns_job(missing), LINES, NOW)
    topic, queue = topic_with_queue(aws)
    retried = alert(aws, sns_job(topic), LINES, NOW + timedelta(seconds=1))
    assert retried["sent"] and len(received(aws, queue)) == 1


def test_no_match_sends_nothing(aws: dict[str, Any]) -> None:
    topic, queue = topic_with_queue(aws)
    result = alert(aws, sns_job(topic), ["[INFO] all good\n"], NOW)
    assert (result["matched"], result["sent"]) == (0, False)
    assert received(aws, queue) == []


class Hook(BaseHTTPRequestHandler):
    statuses: list[int] = []
    bodies: list[dict[str, Any]] = []
    keys: list[str] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Hook.bodies.append(json.loads(self.rfile.read(length)))
        Hook.keys.append(self.headers.get("Idempotency-Key", ""))
        self.send_response(Hook.statuses.pop(0) if Hook.statuses else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.statuses, Hook.bodies, Hook.keys = [], [], []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def webhook_job(**extra: Any) -> dict[str, Any]:
    job = job_for(
        name="payments",
        action="pattern-alert",
        webhook_secret="acme/hook",
        rate_limit="1m",
        sample_lines=1,
    )
    return {**job, **extra}


def test_webhook_url_comes_from_secrets_manager(aws: dict[str, Any], webhook: str) -> None:
    aws["secretsmanager"].create_secret(Name="acme/hook", SecretString=json.dumps({"url": webhook}))
    result = alert(aws, webhook_job(), LINES, NOW)
    assert result["sent"] and result["receipt"] == "HTTP 200"
    [body] = Hook.bodies
    assert body["count"] == 3 and len(body["lines"]) == 1
    assert Hook.keys == [body["dedupe_key"]]


def test_webhook_retries_a_5xx_then_fails_loudly(
    aws: dict[str, Any], webhook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws["secretsmanager"].create_secret(Name="acme/hook", SecretString=webhook)
    slept: list[float] = []  # the backoff, recorded instead of waited for
    monkeypatch.setattr(WebhookSink, "pause", lambda _sink, seconds: slept.append(seconds))
    Hook.statuses = [503, 200]
    assert alert(aws, webhook_job(), LINES, NOW)["sent"]
    Hook.statuses = [500, 500, 500]
    with pytest.raises(SinkError, match="500 after 3 tries"):
        alert(aws, webhook_job(), LINES, NOW + timedelta(minutes=1))
    Hook.statuses = [400]
    with pytest.raises(SinkError, match="400 after 1 tries"):
        alert(aws, webhook_job(), LINES, NOW + timedelta(minutes=1))
    assert len(Hook.bodies) == 6
    assert slept == [0.5, 0.5, 1.0]  # 503 then 200; 500, 500, 500 (no wait after the last)


@pytest.mark.parametrize(
    "held",
    ["http://hooks.example.com/services/x", json.dumps({"url": "ftp://x"}), "{not json", "hooks"],
)
def test_a_secret_without_an_https_url_is_refused_before_any_post(
    aws: dict[str, Any], webhook: str, held: str
) -> None:
    aws["secretsmanager"].create_secret(Name="acme/hook", SecretString=held)
    with pytest.raises(SinkError, match="does not hold an https:// webhook URL") as refused:
        alert(aws, webhook_job(), LINES, NOW)
    assert "hooks.example.com" not in str(refused.value)  # the URL is a credential
    assert Hook.bodies == []
