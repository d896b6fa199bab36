"""Write users to DynamoDB with BatchWriteItem: 25 puts a call (the API's limit), and what
DynamoDB hands back as `UnprocessedItems` (throttling, a hot partition) retried with
exponential back-off and full jitter until it is written or the attempts run out.

A put replaces the user's item: the key is the user id, so a user already in the table is
updated to the file's row, and a file loaded twice leaves the same table.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

BATCH = 25  # BatchWriteItem's maximum
ATTEMPTS = 8  # per batch, the first included
BASE_DELAY = 0.05  # seconds; doubled per attempt, capped
MAX_DELAY = 2.0


@dataclass
class Written:
    written: int = 0
    calls: int = 0
    retried: int = 0  # items DynamoDB handed back at least once
    failed: list[str] = field(default_factory=list)  # user ids never written


def write_users(
    dynamodb: Any,
    table: str,
    users: Iterable[Mapping[str, str]],
    *,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[float, float], float] = random.uniform,
    out_of_time: Callable[[], bool] = lambda: False,
) -> Written:
    result = Written()
    batch: list[dict[str, Any]] = []
    for user in users:
        batch.append({"PutRequest": {"Item": {k: {"S": v} for k, v in user.items()}}})
        if len(batch) == BATCH:
            _write(dynamodb, table, batch, result, sleep, jitter, out_of_time)
            batch = []
    if batch:
        _write(dynamodb, table, batch, result, sleep, jitter, out_of_time)
    return result


def _write(
    dynamodb: Any,
    table: str,
    batch: list[dict[str, Any]],
    result: Written,
    sleep: Callable[[float], None],
    jitter: Callable[[float, float], float],
    out_of_time: Callable[[], bool],
) -> None:
    pending = batch
    for attempt in range(ATTEMPTS):
        if attempt and out_of_time():
            break
        if attempt:
            sleep(jitter(0, min(MAX_DELAY, BASE_DELAY * 2**attempt)))
        response = dynamodb.batch_write_item(RequestItems={table: pending})
        result.calls += 1
        left = response.get("UnprocessedItems", {}).get(table, [])
        result.written += len(pending) - len(left)
        if not left:
            return
        result.retried += len(left) if attempt == 0 else 0
        pending = left
    result.failed.extend(r["PutRequest"]["Item"]["id"]["S"] for r in pending)
