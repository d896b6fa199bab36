"""examples/users-loader: a users file uploaded to S3 is loaded into DynamoDB on moto; updates,
malformed rows, UnprocessedItems and a run that cannot write everything."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions import user_config
from tests.conftest import REGION, ROOT

LOADER = ROOT / "examples" / "users-loader" / "loader"
BUCKET = "users-inbox-eu-west-1"


@pytest.fixture
def app() -> Iterator[ModuleType]:
    """The loader's modules as its zip has them (ops_config beside them), forgotten after."""
    saved = {n: sys.modules.get(n) for n in ("app", "load", "users", "ops_config")}
    sys.modules["ops_config"] = user_config
    sys.path.insert(0, str(LOADER))
    try:
        for name in ("app", "load", "users"):
            sys.modules.pop(name, None)
        yield importlib.import_module("app")
    finally:
        sys.path.remove(str(LOADER))
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.fixture
def world(app: ModuleType) -> Iterator[dict[str, Any]]:
    with mock_aws():
        user_config.clear()
        user_config._clients.clear()
        app._clients.clear()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="users",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/users-loader/table", Value="users", Type="String"
        )
        yield {"s3": s3, "ddb": ddb}
        user_config.clear()
        user_config._clients.clear()
        app._clients.clear()


def upload_event(key: str) -> dict[str, Any]:
    from urllib.parse import quote_plus

    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": quote_plus(key)}},
    }
    return {"Records": [record]}


def table(ddb: Any) -> dict[str, dict[str, str]]:
    items = ddb.scan(TableName="users")["Items"]
    return {i["id"]["S"]: {k: v["S"] for k, v in i.items()} for i in items}


CSV = (
    "\ufeffid,email,name\n"
    "u1,ann@example.com,Ann\n"
    "u2,bob@example.com,Bob\n"
    "u3,not-an-email,Cat\n"
    "u4,dan@example.com\n"
    "\n"
    "u1,ann@new.example.com,Ann B\n"
    ",eve@example.com,Eve\n"
)


def test_a_csv_loads_updates_and_reports_rows_by_line(app, world) -> None:
    world["ddb"].put_item(
        TableName="users", Item={"id": {"S": "u2"}, "email": {"S": "old@example.com"}}
    )
    world["s3"].put_object(Bucket=BUCKET, Key="incoming/users 1.csv", Body=CSV.encode())
    report = app.handler(upload_event("incoming/users 1.csv"), None)
    [file] = report["files"]
    assert (file["key"], file["rows"], file["users"], file["duplicates"]) == (
        "incoming/users 1.csv",
        6,
        2,
        1,
    )
    assert file["rejected"] == [
        {"line": 4, "reason": "not an e-mail address: 'not-an-email'"},
        {"line": 5, "reason": "2 fields, the header has 3"},
        {"line": 8, "reason": "no id"},
    ]
    assert table(world["ddb"]) == {
        "u1": {"id": "u1", "email": "ann@new.example.com", "name": "Ann B"},  # the later row
        "u2": {"id": "u2", "email": "bob@example.com", "name": "Bob"},  # updated
    }


def test_json_lines_with_a_broken_line_load_the_rest(app, world) -> None:
    lines = [
        json.dumps({"id": 7, "email": "g@example.com", "plan": "pro"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "h", "email": "h@example.com", "tags": ["x"]}),
        json.dumps({"id": "i", "email": "i@example.com"}),
    ]
    world["s3"].put_object(Bucket=BUCKET, Key="incoming/u.jsonl", Body="\n".join(lines).encode())
    [file] = app.handler(upload_event("incoming/u.jsonl"), None)["files"]
    assert [r["line"] for r in file["rejected"]] == [2, 3, 4]
    assert file["rejected"][0]["reason"].startswith("not JSON")
    assert set(table(world["ddb"])) == {"7", "i"}


def test_batches_of_25_and_5000_rows_in_200_calls(app, world) -> None:
    rows = "".join(f"u{i},u{i}@example.com,User {i}\n" for i in range(5000))
    world["s3"].put_object(
        Bucket=BUCKET, Key="incoming/big.csv", Body=b"id,email,name\n" + rows.encode()
    )
    [file] = app.handler(upload_event("incoming/big.csv"), None)["files"]
    assert (file["written"], file["batch_calls"], file["rejected_count"]) == (5000, 200, 0)
    assert world["ddb"].describe_table(TableName="users")["Table"]["ItemCount"] == 5000


class Throttled:
    """A DynamoDB client that hands back all but the first `take` items of each call, for
    `times` calls (what BatchWriteItem does under throttling), then behaves."""

    def __init__(self, real: Any, take: int, times: int) -> None:
        self.real, self.take, self.times, self.calls = real, take, times, []

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        [(name, requests)] = RequestItems.items()
        self.calls.append(len(requests))
        if self.times > 0:
            self.times -= 1
            if self.take:
                self.real.batch_write_item(RequestItems={name: requests[: self.take]})
            return {"UnprocessedItems": {name: requests[self.take :]}}
        return dict(self.real.batch_write_item(RequestItems=RequestItems))


def test_unprocessed_items_are_retried_with_backoff_until_written(app, world) -> None:
    from load import write_users

    users = [{"id": f"u{i}", "email": f"u{i}@example.com"} for i in range(30)]
    client = Throttled(world["ddb"], take=10, times=2)
    waits: list[float] = []
    result = write_users(client, "users", users, sleep=waits.append, jitter=lambda low, high: high)
    assert (result.written, result.failed) == (30, [])
    assert client.calls == [25, 15, 5, 5]  # 10 taken, 10 taken, the rest; then the last 5
    assert waits == [0.1, 0.2]  # exponential: 0.05 * 2**attempt
    assert len(table(world["ddb"])) == 30


def test_users_never_written_fail_the_run_after_the_report(app, world, capsys) -> None:
    world["s3"].put_object(Bucket=BUCKET, Key="incoming/x.csv", Body=CSV.encode())
    throttled = Throttled(world["ddb"], take=0, times=10**6)
    app._clients["dynamodb"] = throttled
    import load

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(load.time, "sleep", lambda seconds: None)
        with pytest.raises(app.NotLoaded, match="2 users were not written"):
            app.handler(upload_event("incoming/x.csv"), None)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["files"][0]["not_written"] == ["u2", "u1"]
    assert len(throttled.calls) == load.ATTEMPTS
    assert table(world["ddb"]) == {}


class Closing:
    """A context with 5 s left: under the margin, so nothing is retried."""

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def test_near_the_timeout_it_stops_retrying_and_reports(app, world, capsys) -> None:
    world["s3"].put_object(Bucket=BUCKET, Key="incoming/x.csv", Body=CSV.encode())
    throttled = Throttled(world["ddb"], take=1, times=10**6)
    app._clients["dynamodb"] = throttled
    with pytest.raises(app.NotLoaded, match="1 users were not written"):
        app.handler(upload_event("incoming/x.csv"), Closing())
    assert throttled.calls == [2]  # one call, no retry: the report still prints in time
    assert set(table(world["ddb"])) == {"u2"}


def test_a_foreign_event_loads_nothing(app, world) -> None:
    report = app.handler({"source": "not.s3", "detail": {}}, None)
    assert report["files"] == []
    deleted = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete"}]}
    assert app.handler(deleted, None)["files"] == []
