"""examples/users-loader vs the naive loop a user would otherwise write, on one moto server.

Same CSV upload, same table. The loader: one GetObject, rows streamed and deduplicated, then
BatchWriteItem 25 at a time. The naive loop: read the file, one PutItem per row. Printed per
run: rows, seconds, rows/s, API calls per 1,000 rows, and for the loader the Lambda time budget
a 300 s function would have left. The naive loop runs on the smaller file only (on the larger
one it would take minutes of one HTTP call per row). Run: `python bench/users_loader.py`.
"""

from __future__ import annotations

import csv
import importlib
import io
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples" / "users-loader" / "loader"))

import boto3  # noqa: E402

from functions import user_config  # noqa: E402
from tests.moto_server import moto_server  # noqa: E402

REGION, BUCKET, PARAMETER = "eu-west-1", "users-inbox", "/users-loader/table"
SIZES = (10_000, 100_000)
NAIVE_UP_TO = 10_000
TIMEOUT_S = 300


class Context:
    def __init__(self) -> None:
        self.deadline = time.monotonic() + TIMEOUT_S

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def counted(endpoint: str, service: str, calls: Counter[str]) -> Any:
    client = boto3.client(service, region_name=REGION, endpoint_url=endpoint)
    client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return client


def users_csv(rows: int) -> bytes:
    lines = ["id,email,name,plan"]
    lines += [f"u{i % (rows - rows // 20)},u{i}@example.com,User {i},free" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()  # 5% of the rows update an earlier user


def fresh_table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def run_loader(endpoint: str, key: str, table: str) -> tuple[float, Counter[str], int, int]:
    app = importlib.import_module("app")
    calls: Counter[str] = Counter()
    boto3.client("ssm", region_name=REGION, endpoint_url=endpoint).put_parameter(
        Name=PARAMETER, Value=table, Type="String", Overwrite=True
    )
    app._clients.update(
        s3=counted(endpoint, "s3", calls), dynamodb=counted(endpoint, "dynamodb", calls)
    )
    user_config.clear()
    user_config._clients["ssm"] = counted(endpoint, "ssm", calls)
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]}  # fmt: skip
    context = Context()
    started = time.perf_counter()
    stdout, sys.stdout = sys.stdout, io.StringIO()
    try:
        report = app.handler(event, context)
    finally:
        sys.stdout = stdout
    seconds = time.perf_counter() - started
    return seconds, calls, report["files"][0]["written"], context.get_remaining_time_in_millis()


def run_naive(endpoint: str, key: str, table: str) -> tuple[float, Counter[str], int]:
    calls: Counter[str] = Counter()
    s3, ddb = counted(endpoint, "s3", calls), counted(endpoint, "dynamodb", calls)
    started = time.perf_counter()
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    rows = 0
    for row in csv.DictReader(io.StringIO(body)):
        ddb.put_item(TableName=table, Item={k: {"S": v} for k, v in row.items()})
        rows += 1
    return time.perf_counter() - started, calls, rows


def main() -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION=REGION,
                      AWS_DEFAULT_REGION=REGION)  # fmt: skip
    sys.modules["ops_config"] = user_config
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto_server() as endpoint:
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        print(f"{'tool':<24}{'rows':>9}{'users':>9}{'seconds':>10}{'rows/s':>10}"
              f"{'calls/1k rows':>15}  calls")  # fmt: skip
        for rows in SIZES:
            key = f"incoming/users-{rows}.csv"
            s3.put_object(Bucket=BUCKET, Key=key, Body=users_csv(rows))
            fresh_table(ddb, f"loader-{rows}")
            seconds, calls, written, left = run_loader(endpoint, key, f"loader-{rows}")
            line(f"users-loader ({left / 1000:.0f}s left)", rows, written, seconds, calls)
            if rows <= NAIVE_UP_TO:
                fresh_table(ddb, f"naive-{rows}")
                seconds, calls, _ = run_naive(endpoint, key, f"naive-{rows}")
                users = ddb.describe_table(TableName=f"naive-{rows}")["Table"]["ItemCount"]
                line("one PutItem per row", rows, users, seconds, calls)


def line(tool: str, rows: int, users: int, seconds: float, calls: Counter[str]) -> None:
    total = sum(calls.values())
    detail = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    print(f"{tool:<24}{rows:>9,}{users:>9,}{seconds:>10.2f}{rows / seconds:>10,.0f}"
          f"{total * 1000 / rows:>15.1f}  {detail}")  # fmt: skip


if __name__ == "__main__":
    main()
