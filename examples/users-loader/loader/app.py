"""users-loader: an upload of a users file (CSV with a header, or JSON lines) to S3 is loaded
into the DynamoDB table whose name is read from SSM at run time.

Every record of the event is handled (S3 notifications, and EventBridge "Object Created"),
keys URL-decoded. The file is streamed line by line; malformed rows are reported with their
line numbers and the rest load. Users whose puts DynamoDB never took after the retries make
the invocation fail once the report is printed, so Lambda retries the event (a reload is
harmless: puts by user id) and, after its retries, parks it in the dead-letter queue.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import ops_config
from load import write_users
from users import parse

TABLE_PARAMETER = os.environ.get("TABLE_PARAMETER", "/users-loader/table")
MARGIN_MS = 10_000  # stop retrying this close to the timeout, so the report still prints
MAX_REPORTED = 100  # rejected rows listed per file (all are counted)
_clients: dict[str, Any] = {}


class NotLoaded(Exception):
    """Some users were not written; the event should be retried."""


def client(service: str) -> Any:
    if service not in _clients:
        import boto3

        _clients[service] = boto3.client(service)
    return _clients[service]


def objects(event: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(bucket, key) of every upload the event tells of; anything else is skipped."""
    if event.get("detail-type") == "Object Created" and event.get("source") == "aws.s3":
        detail = event.get("detail", {})
        yield detail["bucket"]["name"], detail["object"]["key"]
        return
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:s3" and record.get("eventName", "").startswith(
            "ObjectCreated:"
        ):
            yield record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])


def load_file(
    s3: Any, dynamodb: Any, table: str, bucket: str, key: str, context: Any = None
) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    lines = (line.decode("utf-8-sig") for line in body.iter_lines())
    parsed = parse(key, lines)

    def out_of_time() -> bool:
        return context is not None and context.get_remaining_time_in_millis() < MARGIN_MS

    written = write_users(dynamodb, table, parsed.users.values(), out_of_time=out_of_time)
    return {
        "bucket": bucket,
        "key": key,
        "rows": parsed.rows,
        "users": len(parsed.users),
        "duplicates": parsed.duplicates,
        "written": written.written,
        "batch_calls": written.calls,
        "retried": written.retried,
        "not_written": written.failed[:MAX_REPORTED],
        "not_written_count": len(written.failed),
        "rejected": [{"line": n, "reason": r} for n, r in parsed.rejected[:MAX_REPORTED]],
        "rejected_count": len(parsed.rejected),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    table = ops_config.parameter(TABLE_PARAMETER)
    files = [
        load_file(client("s3"), client("dynamodb"), table, bucket, key, context)
        for bucket, key in objects(event)
    ]
    report = {"table": table, "files": files}
    print(json.dumps(report))
    if any(f["not_written_count"] for f in files):
        raise NotLoaded(f"{sum(f['not_written_count'] for f in files)} users were not written")
    return report
