"""Idempotency markers and cool-downs in the stack's small DynamoDB table.

Why a table and not a tag on the resource: a marker must exist before the action (tags would need
tagging rights on every resource, and a tag write is not conditional), must survive cold starts
and concurrent deliveries, and must expire on its own. One conditional `PutItem` on
"alarm ARN + state change time + responder" does all of that; the table's TTL removes markers a
week later (Lambda may hold an asynchronous event for 6 h, SNS and EventBridge redeliver within
that).

A claim is a lease: while an invocation works on a state change, a duplicate delivery is skipped;
if the invocation fails it releases the claim so the retry acts; if it dies without releasing
(timeout), the lease runs out and the next delivery may act.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MARKER_TTL = timedelta(days=7)
# What a resource was before a responder first changed it, kept until it is restored. An alarm may
# stay in ALARM for weeks: long enough that the restore still finds it.
PRIOR_TTL = timedelta(days=90)


@dataclass(frozen=True)
class Claim:
    claimed: bool
    status: str = ""  # when not claimed: "done" or "in-progress" (another invocation has it)


class MarkerStore:
    """One DynamoDB table; `pk` is the key, `expires_at` (epoch seconds) its TTL attribute."""

    def __init__(self, table: str, client: Any, lease: timedelta) -> None:
        self.table, self.client, self.lease = table, client, lease

    def claim(self, key: str, now: datetime) -> Claim:
        """Take the state change for this invocation, unless it is done or being done."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"event#{key}"},
                    "status": {"S": "in-progress"},
                    "lease_until": {"N": str(int((now + self.lease).timestamp()))},
                    "expires_at": {"N": str(int((now + MARKER_TTL).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk) OR "
                "(#status = :progress AND lease_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":progress": {"S": "in-progress"},
                    ":now": {"N": str(int(now.timestamp()))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item") or {}
            return Claim(False, old.get("status", {}).get("S", "done"))
        return Claim(True)

    def complete(self, key: str, outcome: str) -> None:
        """The state change was handled (acted or skipped for good): duplicates do nothing."""
        self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"event#{key}"}},
            UpdateExpression="SET #status = :done, outcome = :outcome REMOVE lease_until",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":done": {"S": "done"}, ":outcome": {"S": outcome[:1000]}},
        )

    def release(self, key: str) -> None:
        """The attempt failed: let the retry of this state change act."""
        self.client.delete_item(TableName=self.table, Key={"pk": {"S": f"event#{key}"}})

    def last_action(self, resource: str) -> datetime | None:
        """When a responder last changed `resource` (for cool-downs), if it did."""
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": f"action#{resource}"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return datetime.fromisoformat(item["acted_at"]["S"])

    def record_action(self, resource: str, now: datetime, keep: timedelta) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"action#{resource}"},
                "acted_at": {"S": now.isoformat()},
                "expires_at": {"N": str(int((now + max(keep, MARKER_TTL)).timestamp()))},
            },
        )

    def remember_prior(self, resource: str, value: int, now: datetime) -> None:
        """What `resource` was before the responder first changed it; a later change of the same
        episode keeps the first value (so two raises restore the value before both)."""
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            # the condition fails when an earlier raise already recorded what was there
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"prior#{resource}"},
                    "value": {"N": str(int(value))},
                    "recorded_at": {"S": now.isoformat()},
                    "expires_at": {"N": str(int((now + PRIOR_TTL).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )

    def prior(self, resource: str) -> int | None:
        """The value recorded by `remember_prior`, None when the responder did not change it."""
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": f"prior#{resource}"}}, ConsistentRead=True
        ).get("Item")
        return int(item["value"]["N"]) if item else None

    def forget_prior(self, resource: str) -> None:
        """The value was restored: the next raise records afresh."""
        self.client.delete_item(TableName=self.table, Key={"pk": {"S": f"prior#{resource}"}})
