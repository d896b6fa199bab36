"""`ops event NAME` for a `[[function]]`: what its trigger delivers, in AWS's format.

S3 on a bucket the stack creates: a notification record (key URL-encoded, as S3 sends it);
on another bucket: EventBridge's "Object Created". SQS: a batch of two messages (the function
answers with `batchItemFailures`). SNS: one notification. A schedule: EventBridge's
"Scheduled Event". A function with no trigger gets an empty event.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from ops.models.user_function import UserFunction
from ops.naming import LOCAL_ACCOUNT
from ops.schedule import scheduled_event

SAMPLE_KEY = "sample upload.json"


def sample_event(config: Any, section: Any, fn: UserFunction, region: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if fn.s3 is not None:
        key = f"{fn.s3.prefix}{SAMPLE_KEY.removesuffix('.json')}{fn.s3.suffix or '.json'}"
        created = any(f.s3 and f.s3.create and f.s3.bucket == fn.s3.bucket for f in config.function)
        if created:
            return _s3_notification(fn.s3.bucket, key, region, now)
        return _object_created(fn.s3.bucket, key, region, now)
    if fn.sqs is not None:
        return _sqs_batch(fn.sqs.queue_arn, region)
    if fn.sns is not None:
        return _sns_notification(fn.sns.topic_arn, region, now)
    if fn.schedule is not None:
        return scheduled_event(config, section, fn, region)
    return {}


def _s3_notification(bucket: str, key: str, region: str, now: str) -> dict[str, Any]:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": now,
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": quote_plus(key),
                "size": 1024,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": "0065A1B2C3D4E5F601",
            },
        },
    }
    return {"Records": [record]}


def _object_created(bucket: str, key: str, region: str, now: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": LOCAL_ACCOUNT,
        "time": now[:19] + "Z",
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 1024, "etag": "d41d8cd98f00b204e9800998ecf8427e"},
            "reason": "PutObject",
        },
    }


def _sqs_batch(queue_arn: str, region: str) -> dict[str, Any]:
    bodies = [{"id": "job-1"}, {"id": "job-2"}]
    records = [
        {
            "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{queue_arn}/{i}")),
            "receiptHandle": f"sample-receipt-{i}",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        for i, body in enumerate(bodies)
    ]
    return {"Records": records}


def _sns_notification(topic_arn: str, region: str, now: str) -> dict[str, Any]:
    message = {"AlarmName": "sample-alarm", "NewStateValue": "ALARM", "Region": region}
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Subject": "sample",
            "Message": json.dumps(message),
            "Timestamp": now,
            "MessageAttributes": {},
        },
    }
    return {"Records": [record]}
