"""The responder, log processor and versioned S3 purge examples end to end on a moto server:
`ops apply` of examples/responders.toml, examples/log-processors.toml and examples/purge-s3.toml
(its versioned job made a real run), then every function that calls AWS run through `ops invoke`
under its own rendered role with moto's IAM enforcement on, and again with one action taken out
of that role, which must fail with AccessDenied.

Webhooks are a local HTTP listener whose URL is the Secrets Manager secret the config names (the
URL is never in the environment); SNS alerts are read back from a queue subscribed to the topic.
What moto's IAM does not check: resources outside S3 (the render tests check the ARNs) and
every condition key (tests/policy_conditions.py evaluates them against the calls each run made).
Not listed: the REPORT-line log processor (it prints EMF and calls nothing), the metric filter
and the native EC2 responder (no function), the plain S3 job (test_bundled_stack_e2e runs one).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.runtime import settings
from tests.conftest import ROOT
from tests.policy_conditions import denied, recording, role_policies
from tests.test_bundled_stack_e2e import (
    REGION,
    alarm_in,
    aws,
    clear_state,
    conditions_held,
    enforced,
    invoke_as_role,
    ops,
    other_function,
    provisioned_table,
    role_of,
    without,
)

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
# Log groups of other stacks that examples/log-processors.toml subscribes to (see its header).
FOREIGN_LOG_GROUPS = ("/aws/lambda/api", "/aws/lambda/worker", "/ecs/acme.checkout")
ERRORS_TOPIC = "acme-errors"  # examples/log-processors.toml `errors` publishes here
SECRETS = {"ops/slack-webhook": "/slack", "acme/chat-webhook": "/chat"}


class Webhook:
    """A local listener for the webhook posts: every request's path and JSON body, 200 each."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server calls it by this name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for where, body in self.posts if where == path]


@pytest.fixture(scope="module")
def hook() -> Iterator[Webhook]:
    listener = Webhook()
    yield listener
    listener.server.shutdown()


def configs(folder: Path) -> dict[str, Path]:
    """The three examples; the versioned job runs for real (the example is a dry run first)."""
    found = {}
    for name in ("responders", "log-processors", "purge-s3"):
        text = (ROOT / "examples" / f"{name}.toml").read_text()
        if name == "purge-s3":
            text = text.replace("dry_run = true", "dry_run = false", 1)
        found[name] = folder / f"{name}.toml"
        found[name].write_text(text)
    return found


@pytest.fixture(scope="module")
def deployed(
    moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory, hook: Webhook
) -> Iterator[dict[str, Path]]:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    paths = configs(tmp_path_factory.mktemp("families"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        for group in FOREIGN_LOG_GROUPS:
            aws(moto_endpoint, "logs").create_log_group(logGroupName=group)
        secrets = aws(moto_endpoint, "secretsmanager")
        for name, path in SECRETS.items():
            secrets.create_secret(Name=name, SecretString=json.dumps({"url": hook.url + path}))
        for path in paths.values():
            result = ops(moto_endpoint, "apply", "--config", str(path), "--region", REGION, "--yes")
            assert result.exit_code == 0, result.stderr
        yield paths
        for path in paths.values():
            gone = ops(moto_endpoint, "destroy", "--config", str(path), "--region", REGION, "--yes")
            assert gone.exit_code == 0, gone.stderr
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)


@pytest.fixture(autouse=True)
def no_cached_secrets() -> Iterator[None]:
    """A secret read by the run before would spare the next one its GetSecretValue."""
    settings._secrets.clear()
    yield
    settings._secrets.clear()


# ---- seeding -------------------------------------------------------------------------------


def seed_users(endpoint: str, hook: Webhook) -> None:
    clear_state(endpoint, "acme-responders")
    provisioned_table(endpoint, "users", 100, 10)
    name = "acme-responders-responder-users-read-capacity"
    alarm_in(endpoint, name, "AWS/DynamoDB", "ConsumedReadCapacityUnits", ("TableName", "users"))
    hook.posts.clear()


def users_scaled_and_told(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    [outcome] = report["outcomes"]
    assert (outcome["status"], outcome["notified"]) == ("acted", "sent"), outcome
    table = aws(endpoint, "dynamodb").describe_table(TableName="users")["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 150
    [told] = hook.to("/slack")
    assert "users-read-capacity" in told["text"] and "100 -> 150" in told["text"], told


def seed_events(endpoint: str, hook: Webhook) -> None:
    clear_state(endpoint, "acme-responders")
    provisioned_table(endpoint, "events", 5, 100)
    name = "acme-responders-responder-events-write-idle"
    alarm_in(endpoint, name, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", ("TableName", "events"))


def events_recommended(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    [outcome] = report["outcomes"]
    assert (outcome["code"], outcome["before"], outcome["after"]) == ("dry-run", 100, 50), outcome
    table = aws(endpoint, "dynamodb").describe_table(TableName="events")["Table"]
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 100  # a dry run changes nothing


def seed_orders(endpoint: str, hook: Webhook) -> None:
    clear_state(endpoint, "acme-responders")  # its 6 h cool-down would skip the next run
    rds = aws(endpoint, "rds")
    if rds.describe_db_instances()["DBInstances"]:
        rds.delete_db_instance(DBInstanceIdentifier="orders", SkipFinalSnapshot=True)
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=100,
        MasterUsername="ops",
        MasterUserPassword="not-a-secret-in-moto",
    )
    dimension = ("DBInstanceIdentifier", "orders")
    alarm_in(endpoint, "prod-db-example", "AWS/RDS", "FreeStorageSpace", dimension)


def orders_grown(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    [outcome] = report["outcomes"]
    assert (outcome["status"], outcome["before"], outcome["after"]) == ("acted", 100, 120), outcome
    [db] = aws(endpoint, "rds").describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"]
    assert db["AllocatedStorage"] == 120


def seed_checkout(endpoint: str, hook: Webhook) -> None:
    clear_state(endpoint, "acme-responders")
    other_function(endpoint, "checkout")
    lam = aws(endpoint, "lambda")
    lam.put_function_concurrency(FunctionName="checkout", ReservedConcurrentExecutions=20)
    name = "acme-responders-responder-checkout-throttles"
    alarm_in(endpoint, name, "AWS/Lambda", "Throttles", ("FunctionName", "checkout"))


def checkout_raised(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    [outcome] = report["outcomes"]
    assert (outcome["status"], outcome["before"], outcome["after"]) == ("acted", 20, 40), outcome
    answer = aws(endpoint, "lambda").get_function_concurrency(FunctionName="checkout")
    assert answer["ReservedConcurrentExecutions"] == 40


def seed_page(endpoint: str, hook: Webhook) -> None:
    clear_state(endpoint, "acme-responders")
    alarm_in(endpoint, "prod-example", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", ("LB", "x"))
    hook.posts.clear()


def paged(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    [outcome] = report["outcomes"]
    assert outcome["status"] == "acted", outcome
    [told] = hook.to("/slack")
    assert "*ALARM*: prod-example" in told["text"], told


def errors_queue(endpoint: str) -> str:
    """A queue subscribed to the errors topic, so what the processor published can be read."""
    sqs = aws(endpoint, "sqs")
    url = sqs.create_queue(QueueName="errors-alerts")["QueueUrl"]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:{ERRORS_TOPIC}"
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    aws(endpoint, "sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    return str(url)


def seed_errors(endpoint: str, hook: Webhook) -> None:
    clear_state(endpoint, "acme-logs")
    aws(endpoint, "sns").create_topic(Name=ERRORS_TOPIC)  # another stack's topic
    sqs, url = aws(endpoint, "sqs"), errors_queue(endpoint)
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:  # PurgeQueue is allowed once a minute
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def errors_published(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    assert (report["status"], report["matched"], report["sent"]) == ("done", 1, True), report
    answer = aws(endpoint, "sqs").receive_message(QueueUrl=errors_queue(endpoint))
    [message] = answer["Messages"]
    alert = json.loads(json.loads(message["Body"])["Message"])
    assert alert["processor"] == "errors" and alert["log_group"] == "/aws/lambda/acme-example"
    assert report["receipt"] == json.loads(message["Body"])["MessageId"]


def seed_payments(endpoint: str, hook: Webhook) -> None:
    clear_state(endpoint, "acme-logs")
    hook.posts.clear()


def payments_posted(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    assert (report["status"], report["sent"], report["receipt"]) == ("done", True, "HTTP 200")
    [alert] = hook.to("/chat")
    assert alert["processor"] == "payments" and alert["count"] == 2, alert
    assert "payment failed" in alert["lines"][0]["message"]


BUCKET = "acme-reports"
FRESH = 20


def versions_of(endpoint: str) -> list[tuple[str, bool]]:
    """(key, is a delete marker) of every version left in the reports bucket, sorted."""
    answer = aws(endpoint, "s3").list_object_versions(Bucket=BUCKET)
    found = [(v["Key"], False) for v in answer.get("Versions", [])]
    found += [(m["Key"], True) for m in answer.get("DeleteMarkers", [])]
    return sorted(found)


def seed_reports(endpoint: str, hook: Webhook) -> None:
    """A versioned bucket: a key whose every version is old, a key with one version that has
    been noncurrent for 40 days and one that just became so, a key deleted 40 days ago (its
    marker is current), a key outside the prefix, and enough fresh keys that the 5 deletes stay
    within the example's max_delete_percent = 20."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    s3 = aws(endpoint, "s3")
    if BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        answer = s3.list_object_versions(Bucket=BUCKET)
        for entry in [*answer.get("Versions", []), *answer.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=BUCKET, Key=entry["Key"], VersionId=entry["VersionId"])
    else:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    history = {  # what happened to each key, oldest first, and how many days ago
        "daily/all-old.csv": [("put", 60), ("put", 50)],
        "daily/one-noncurrent.csv": [("put", 60), ("put", 40), ("put", 0)],
        "daily/deleted.csv": [("put", 60), ("delete", 40)],
        "other/old.csv": [("put", 90)],
        **{f"daily/fresh-{i:02d}.csv": [("put", 1)] for i in range(FRESH)},
    }
    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_bucket(BUCKET)
    for key, events in history.items():
        for what, _ in events:
            if what == "put":
                s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
            else:
                s3.delete_object(Bucket=BUCKET, Key=key)  # a delete marker
        for entry, (_, days) in zip(bucket.keys.getlist(key), events, strict=True):
            entry.last_modified = (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None)


def reports_purged(endpoint: str, report: dict[str, Any], hook: Webhook) -> None:
    assert (report["status"], report["deleted"], report["failed"]) == ("finished", 5, {}), report
    assert versions_of(endpoint) == [
        *[(f"daily/fresh-{i:02d}.csv", False) for i in range(FRESH)],
        ("daily/one-noncurrent.csv", False),  # noncurrent since just now, and the current one
        ("daily/one-noncurrent.csv", False),
        ("other/old.csv", False),
    ]


Seed = Callable[[str, Webhook], None]
Check = Callable[[str, dict[str, Any], Webhook], None]


@dataclass(frozen=True)
class Case:
    """One function of the examples: its config, what to seed and what its run must leave,
    and the actions its role needs (each taken out alone, the run must fail with AccessDenied)."""

    config: str
    item: str
    function: str
    needed: tuple[str, ...]
    seed: Seed
    check: Check
    event: Callable[[str, str], str] = lambda endpoint, text: text
    conditioned: tuple[str, ...] = ()  # as in test_bundled_stack_e2e.Case


CASES = [
    Case(
        "responders",
        "users-read-capacity",
        "acme-responders-responder-users-read-capacity",
        ("secretsmanager:GetSecretValue",),
        seed_users,
        users_scaled_and_told,
    ),
    Case(
        "responders",
        "events-write-idle",
        "acme-responders-responder-events-write-idle",
        ("dynamodb:DescribeTable",),
        seed_events,
        events_recommended,
    ),
    Case(
        "responders",
        "orders-disk",
        "acme-responders-responder-orders-disk",
        ("rds:ModifyDBInstance", "cloudwatch:DescribeAlarms"),
        seed_orders,
        orders_grown,
    ),
    Case(
        "responders",
        "checkout-throttles",
        "acme-responders-responder-checkout-throttles",
        ("lambda:PutFunctionConcurrency", "dynamodb:PutItem"),
        seed_checkout,
        checkout_raised,
    ),
    Case(
        "responders",
        "page-sre",
        "acme-responders-responder-page-sre",
        ("secretsmanager:GetSecretValue",),
        seed_page,
        paged,
    ),
    Case(
        "log-processors",
        "errors",
        "acme-logs-logs-errors",
        ("sns:Publish", "dynamodb:UpdateItem"),
        seed_errors,
        errors_published,
    ),
    Case(
        "log-processors",
        "payments",
        "acme-logs-logs-payments",
        ("secretsmanager:GetSecretValue",),
        seed_payments,
        payments_posted,
    ),
    Case(
        "purge-s3",
        "report-versions",
        "media-ops-purge-report-versions",
        ("s3:ListBucketVersions", "s3:DeleteObjectVersion"),
        seed_reports,
        reports_purged,
        conditioned=("s3:ListBucketVersions",),
    ),
]
MUTATIONS = [(case, action) for case in CASES for action in case.needed]


@pytest.mark.parametrize("case", CASES, ids=[c.item for c in CASES])
def test_each_function_runs_under_its_own_role_with_iam_enforced(
    moto_endpoint: str,
    deployed: dict[str, Path],
    hook: Webhook,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case.seed(moto_endpoint, hook)
    with recording() as calls:
        result = invoke_as_role(moto_endpoint, deployed[case.config], case, monkeypatch)
    assert result.exit_code == 0, result.stderr[-3000:]
    case.check(moto_endpoint, json.loads(result.stdout), hook)
    conditions_held(moto_endpoint, case, calls)


@pytest.mark.parametrize(("case", "action"), MUTATIONS, ids=[f"{c.item}-{a}" for c, a in MUTATIONS])
def test_each_function_fails_when_its_role_lacks_one_action_it_needs(
    moto_endpoint: str,
    deployed: dict[str, Path],
    hook: Webhook,
    case: Case,
    action: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case.seed(moto_endpoint, hook)
    with without(moto_endpoint, role_of(moto_endpoint, case.function), action):
        result = invoke_as_role(moto_endpoint, deployed[case.config], case, monkeypatch)
    assert result.exit_code == 1, result.stdout
    assert "AccessDenied" in result.stderr, result.stderr[-3000:]


def test_moto_lets_a_role_list_outside_its_prefix_so_the_condition_is_evaluated_here(
    moto_endpoint: str, deployed: dict[str, Path], hook: Webhook
) -> None:
    """The versioned purge's role may list `daily/` only (s3:prefix like `daily/*`). moto lets it
    list `other/` (AWS answers AccessDenied); the evaluation the runs above go through refuses.
    When moto refuses too, it evaluates conditions itself."""
    import boto3

    seed_reports(moto_endpoint, hook)
    role = role_of(moto_endpoint, "media-ops-purge-report-versions")
    creds = aws(moto_endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="outside"
    )["Credentials"]
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    with enforced(), recording() as calls:
        answer = s3.list_object_versions(Bucket=BUCKET, Prefix="other/")
    assert [v["Key"] for v in answer["Versions"]] == ["other/old.csv"]
    policies = role_policies(aws(moto_endpoint, "iam"), role)
    assert denied(policies, calls) == ['s3:ListBucketVersions with {"s3:prefix": "other/"}']
