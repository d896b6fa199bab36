"""Shared set-up for the responder tests (no tests here): a moto world with the marker table, a
job built from the config model as the builder builds it, and alarm events from the fixtures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from functions.responders.alarm import parse_event
from functions.responders.markers import MarkerStore
from functions.responders.respond import Deps, Outcome, respond
from functions.responders.settings import settings_of
from ops.config import parse_config
from templates.jobs import responder_job
from tests.conftest import REGION, load_event

MARKERS = "acme-ops-responder-markers"
NOW = datetime(2024, 5, 20, 10, 2, tzinfo=UTC)
ALARM = "acme-ops-responder-users-read-capacity"
ACCOUNT = "123456789012"  # the account of the fixtures' alarms, and the responder's own


def job_for(**item: Any) -> dict[str, Any]:
    """`$OPS_JOB` as rendered for one `[[responder]]` table."""
    config = parse_config({"stack": {"name": "acme-ops"}, "responder": [item]}, Path("t.toml"))
    [responder] = config.responder
    return responder_job(responder, f"acme-ops-responder-{responder.name}")


def dynamodb_job(**changes: Any) -> dict[str, Any]:
    item = {
        "name": "users-read-capacity",
        "action": "dynamodb-scale",
        "table": "users",
        "ceiling": 400,
        "floor": 50,
        "alarm": {
            "namespace": "AWS/DynamoDB", "metric": "ConsumedReadCapacityUnits",
            "dimensions": {"TableName": "users"}, "statistic": "Sum", "threshold": 4800,
            "comparison": ">=",
        },
    }  # fmt: skip
    merged = {**item, **changes}
    return job_for(**{k: v for k, v in merged.items() if v is not None})


class Clients:
    """service -> one moto-backed client, with optional wrappers standing in for facts moto does
    not model (what the real API returns, injected)."""

    def __init__(self) -> None:
        self.made: dict[str, Any] = {}
        self.wrap: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self.made:
            self.made[service] = boto3.client(service, region_name=REGION)
        client = self.made[service]
        return self.wrap[service](client) if service in self.wrap else client


@contextmanager
def world() -> Iterator[Deps]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName=MARKERS,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        clients = Clients()
        markers = MarkerStore(MARKERS, clients("dynamodb"), timedelta(minutes=1))
        yield Deps(clients, markers, REGION, ACCOUNT)


def put_alarm(deps: Deps, name: str = ALARM, state: str = "ALARM", **dims: str) -> None:
    cw = deps.clients("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=name, Namespace="AWS/DynamoDB", MetricName="ConsumedReadCapacityUnits",
        Dimensions=[{"Name": k, "Value": v} for k, v in (dims or {"TableName": "users"}).items()],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=4800,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def sns_event(
    name: str = ALARM,
    state: str = "ALARM",
    changed_at: datetime = NOW - timedelta(minutes=1),
    dims: dict[str, str] | None = None,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """The threshold fixture, re-targeted: another alarm, state, change time or dimensions."""
    event = load_event("alarm_sns_threshold.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(
        AlarmName=name,
        AlarmArn=f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{name}",
        NewStateValue=state,
        OldStateValue="OK" if state == "ALARM" else "ALARM",
        StateChangeTime=changed_at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    )
    dims = dims or {"TableName": "users"}
    message["Trigger"]["Dimensions"] = [{"name": k, "value": v} for k, v in dims.items()]
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def run_once(job: dict[str, Any], event: Any, deps: Deps, now: datetime = NOW) -> Outcome:
    [item] = parse_event(event)
    return respond(settings_of(job), item, deps, now)


def make_table(deps: Deps, read: int = 100, write: int = 10, on_demand: bool = False) -> None:
    extra: dict[str, Any] = (
        {"BillingMode": "PAY_PER_REQUEST"}
        if on_demand
        else {"ProvisionedThroughput": {"ReadCapacityUnits": read, "WriteCapacityUnits": write}}
    )
    deps.clients("dynamodb").create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        **extra,
    )


def capacity(deps: Deps) -> tuple[int, int]:
    t = deps.clients("dynamodb").describe_table(TableName="users")["Table"]["ProvisionedThroughput"]
    return t["ReadCapacityUnits"], t["WriteCapacityUnits"]


class Amended:
    """A real (moto) client whose one read call returns extra fields the real API returns."""

    def __init__(self, client: Any, method: str, amend: Any) -> None:
        self._client, self._method, self._amend = client, method, amend

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name != self._method:
            return attr

        def call(**kwargs: Any) -> Any:
            response = attr(**kwargs)
            self._amend(response)
            return response

        return call
