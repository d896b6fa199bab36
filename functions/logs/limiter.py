"""Per-processor rate limit for alerts, shared by every concurrent copy of the function.

State lives in a small DynamoDB table (one item per processor and window, expired by TTL),
because a limit kept in one container's memory is multiplied by the concurrency and forgotten on
every cold start. Each batch first aggregates its matches into one alert; the table then decides
whether that alert may go out in the current window. Suppressed matches are added to the window's
item, and the first alert of the next window reports them, so a flood becomes one message with a
count. One conditional `UpdateItem` per batch with matches: no read-modify-write race.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TTL_WINDOWS = 3  # keep an item this many windows: long enough for the next window to read it


@dataclass(frozen=True)
class Decision:
    allowed: bool
    window_start: int
    suppressed_before: int = 0  # matches the previous window held back


@dataclass
class WindowLimiter:
    client: Any  # DynamoDB
    table: str
    processor: str
    window_seconds: int
    max_messages: int

    def _key(self, window_start: int) -> dict[str, Any]:
        return {"pk": {"S": f"{self.processor}#{window_start}"}}

    def acquire(self, now: float, matches: int) -> Decision:
        """Take a slot in the current window, or record `matches` as suppressed."""
        start = int(now // self.window_seconds) * self.window_seconds
        expires = start + TTL_WINDOWS * self.window_seconds
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key=self._key(start),
                UpdateExpression="ADD sent :one SET expires = :expires",
                ConditionExpression="attribute_not_exists(sent) OR sent < :max",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":max": {"N": str(self.max_messages)},
                    ":expires": {"N": str(expires)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            self._suppress(start, matches, expires)
            return Decision(False, start)
        first = int(answer["Attributes"]["sent"]["N"]) == 1
        return Decision(True, start, self._suppressed(start - self.window_seconds) if first else 0)

    def release(self, decision: Decision) -> None:
        """Give the slot back when the sink failed, so the retried batch can still send."""
        if decision.allowed:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(decision.window_start),
                UpdateExpression="ADD sent :minus",
                ExpressionAttributeValues={":minus": {"N": "-1"}},
            )

    def _suppress(self, start: int, matches: int, expires: int) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=self._key(start),
            UpdateExpression="ADD suppressed :n SET expires = :expires",
            ExpressionAttributeValues={":n": {"N": str(matches)}, ":expires": {"N": str(expires)}},
        )

    def _suppressed(self, start: int) -> int:
        item = self.client.get_item(
            TableName=self.table, Key=self._key(start), ConsistentRead=True
        ).get("Item", {})
        return int(item.get("suppressed", {}).get("N", "0"))
