"""An SQS worker with partial batch responses: a message that fails is returned in
`batchItemFailures` and retried alone; the others are deleted. Also an SNS alarm handler."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        try:
            job = json.loads(record["body"])
            if not isinstance(job, dict) or "id" not in job:
                raise ValueError("a job needs an id")
        except (KeyError, ValueError) as exc:
            print(json.dumps({"message_id": record.get("messageId"), "error": str(exc)}))
            failures.append({"itemIdentifier": record.get("messageId", "")})
    return {"batchItemFailures": failures}


def on_alarm(event: dict[str, Any], context: Any) -> dict[str, Any]:
    alarms = [json.loads(r["Sns"]["Message"]).get("AlarmName") for r in event.get("Records", [])]
    return {"alarms": alarms}
