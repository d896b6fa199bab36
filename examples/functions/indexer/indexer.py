"""Index uploaded JSON documents into a DynamoDB table whose name is read from SSM: every record
of the event (S3 notification or EventBridge Object Created), keys URL-decoded."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

import boto3
import ops_config

s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")


def objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    if event.get("detail-type") == "Object Created":
        detail = event["detail"]
        return [(detail["bucket"]["name"], detail["object"]["key"])]
    return [
        (r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"]))
        for r in event.get("Records", [])
    ]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    table = ops_config.parameter("/acme/indexer/table")
    indexed = []
    for bucket, key in objects(event):
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        dynamodb.update_item(
            TableName=table,
            Key={"key": {"S": f"{bucket}/{key}"}},
            UpdateExpression="SET title = :t",
            ExpressionAttributeValues={":t": {"S": str(document.get("title", ""))}},
        )
        indexed.append(key)
    return {"indexed": indexed}
