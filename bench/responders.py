"""Responders vs. a hand-written `aws` CLI runbook, on the same at-least-once alarm deliveries.

Both run against one local moto server. Deliveries: N distinct ALARM state changes of the users
read-capacity alarm, each delivered twice (SNS and EventBridge are at-least-once). The runbook does
what an operator's script does per delivery: describe-table, then update-table x1.5 (capped).
Printed: capacity after, changes made, API calls, wall time. Run: `python bench/responders.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3

from functions.responders.alarm import parse_event
from functions.responders.markers import MarkerStore
from functions.responders.respond import Deps, respond
from functions.responders.settings import settings_of
from tests.moto_server import moto_server

REGION, N, CEILING = "eu-west-1", 5, 1000
ACCOUNT = "123456789012"  # the account the sample alarm (tests/events) was raised in
ALARM = "acme-ops-responder-users-read-capacity"
JOB = {"name": "users-read-capacity", "action": "dynamodb-scale", "table": "users",
       "capacity": "read", "factor": 1.5, "ceiling": CEILING, "floor": 1, "direction": "up",
       "lower_on_ok": False, "dry_run": False, "alarm_name": ALARM, "alarms": None,
       "cooldown": None, "webhook_secret": None}  # fmt: skip


def setup(endpoint: str, table: str) -> dict[str, object]:
    made: dict[str, object] = {}
    calls: Counter[str] = Counter()

    def client(service: str) -> object:
        if service not in made:
            c = boto3.client(service, region_name=REGION, endpoint_url=endpoint)
            c.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
            made[service] = c
        return made[service]

    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    for name, extra in ((table, {"ProvisionedThroughput": {"ReadCapacityUnits": 100,
                                                            "WriteCapacityUnits": 10}}),
                        (f"{table}-markers", {"BillingMode": "PAY_PER_REQUEST"})):  # fmt: skip
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         **extra)  # fmt: skip
    cw = boto3.client("cloudwatch", region_name=REGION, endpoint_url=endpoint)
    cw.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/DynamoDB", Statistic="Sum", Period=60,
                        MetricName="ConsumedReadCapacityUnits", EvaluationPeriods=1,
                        Threshold=4800, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        Dimensions=[{"Name": "TableName", "Value": table}])  # fmt: skip
    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="bench")
    return {"client": client, "calls": calls, "ddb": ddb}


def deliveries(table: str) -> list[dict[str, Any]]:
    base = json.loads(
        (Path(__file__).parent.parent / "tests/events/alarm_sns_threshold.json").read_text()
    )
    out = []
    for i in range(N):
        message = json.loads(base["Records"][0]["Sns"]["Message"])
        changed = datetime(2024, 5, 20, 10, tzinfo=UTC) + timedelta(hours=i)
        message["StateChangeTime"] = changed.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        message["Trigger"]["Dimensions"] = [{"name": "TableName", "value": table}]
        record = json.loads(json.dumps(base["Records"][0]))
        record["Sns"]["Message"] = json.dumps(message)
        out += [{"Records": [record]}, {"Records": [record]}]  # every change delivered twice
    return out


def read_capacity(ddb: Any, table: str) -> int:
    return int(
        ddb.describe_table(TableName=table)["Table"]["ProvisionedThroughput"]["ReadCapacityUnits"]
    )


def run_responder(endpoint: str) -> tuple[int, int, int, float]:
    world = setup(endpoint, "users")
    client = world["client"]
    markers = MarkerStore("users-markers", client("dynamodb"), timedelta(minutes=1))  # type: ignore[operator]
    deps = Deps(client, markers, REGION, ACCOUNT)  # type: ignore[arg-type]
    start, acted = time.perf_counter(), 0
    for event in deliveries("users"):
        [alarm] = parse_event(event)
        acted += (
            respond(settings_of({**JOB, "table": "users"}), alarm, deps, datetime.now(UTC)).status
            == "acted"
        )
    elapsed = time.perf_counter() - start
    calls = sum(world["calls"].values())  # type: ignore[attr-defined]
    return read_capacity(world["ddb"], "users"), acted, calls, elapsed


def run_cli(endpoint: str) -> tuple[int, int, int, float]:
    world = setup(endpoint, "users-cli")
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench"}  # fmt: skip
    aws = ["aws", "--endpoint-url", endpoint, "--output", "json", "dynamodb"]
    start, changes, calls = time.perf_counter(), 0, 0
    for _ in deliveries("users-cli"):
        out = subprocess.run([*aws, "describe-table", "--table-name", "users-cli"], env=env,
                             capture_output=True, check=True, text=True).stdout  # fmt: skip
        current = json.loads(out)["Table"]["ProvisionedThroughput"]["ReadCapacityUnits"]
        target = min(CEILING, int(current * 1.5))
        calls += 1
        if target > current:
            subprocess.run([*aws, "update-table", "--table-name", "users-cli",
                            "--provisioned-throughput",
                            f"ReadCapacityUnits={target},WriteCapacityUnits=10"],
                           env=env, capture_output=True, check=True)  # fmt: skip
            changes, calls = changes + 1, calls + 1
    return read_capacity(world["ddb"], "users-cli"), changes, calls, time.perf_counter() - start


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with moto_server(quiet=True) as endpoint:
        rows = [
            ("ops responder", *run_responder(endpoint)),
            ("aws CLI runbook", *run_cli(endpoint)),
        ]
    print(f"{N} ALARM state changes, each delivered twice; start 100 RCU, x1.5, ceiling {CEILING}")
    print(f"{'':18}{'RCU after':>10}{'changes':>9}{'API calls':>11}{'seconds':>9}")
    for name, rcu, changes, calls, secs in rows:
        print(f"{name:18}{rcu:>10}{changes:>9}{calls:>11}{secs:>9.2f}")
    expected = 100
    for _ in range(N):
        expected = min(CEILING, max(expected + 1, -(-expected * 3 // 2)))
    print(f"intended after {N} changes (x1.5 once per change, rounded up): {expected} RCU")


if __name__ == "__main__":
    main()
