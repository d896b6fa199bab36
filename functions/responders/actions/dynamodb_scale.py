"""`dynamodb-scale`: raise a table's provisioned capacity on ALARM, lower it within the budget.

Read before acting: the billing mode (on-demand tables have no capacity to set), the table status
(an UPDATING table rejects UpdateTable), Application Auto Scaling (a scalable target owns the
capacity: changing it behind its back starts a tug of war), and for decreases the day's budget:
4 decreases at any time per UTC day, then one more whenever the last was over an hour ago.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from functions.responders.alarm import AlarmEvent
from functions.responders.plan import (
    Clients,
    Skip,
    Step,
    lowered,
    raised,
    wrong_resource,
)
from functions.responders.settings import ResponderSettings

ACTION = "dynamodb-scale"  # the responder action this module performs (functions.runtime.registry)

FREE_DECREASES = 4
DECREASE_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class DynamoDBScaleSettings(ResponderSettings):
    """A dynamodb-scale responder's `$OPS_JOB` (ops/models/responder.py::DynamoDBScale)."""

    table: str
    capacity: str  # read or write
    factor: float
    ceiling: int
    floor: int
    direction: str  # up (raise on ALARM) or down (lower on ALARM)
    lower_on_ok: bool = False


Settings = DynamoDBScaleSettings  # the responder's view (functions/responders/settings.py)


def plan(
    job: DynamoDBScaleSettings,
    alarm: AlarmEvent,
    clients: Clients,
    now: datetime,
    current_state: str,
    markers: Any = None,  # the marker store; this action keeps nothing in it
) -> Step | Skip:
    table_name, capacity = job.table, job.capacity
    skip = wrong_resource(alarm.dimension("TableName"), "TableName", table_name)
    direction = _direction(job, alarm.state)
    if skip or direction is None:
        return skip or Skip(
            "no-action", f"{alarm.state}: nothing to do for direction {job.direction!r}"
        )
    ddb = clients("dynamodb")
    table = ddb.describe_table(TableName=table_name)["Table"]
    skip = _unchangeable(table) or _autoscaled(clients, table_name, capacity)
    if skip:
        return skip
    throughput = table["ProvisionedThroughput"]
    key = "ReadCapacityUnits" if capacity == "read" else "WriteCapacityUnits"
    current = int(throughput[key])
    target_or_skip = _target(job, direction, current, throughput, now)
    if isinstance(target_or_skip, Skip):
        return target_or_skip
    new = {
        "ReadCapacityUnits": int(throughput["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(throughput["WriteCapacityUnits"]),
        key: target_or_skip,
    }
    return Step(
        resource=f"dynamodb:table/{table_name}",
        change=f"{capacity} capacity",
        before=current,
        after=target_or_skip,
        apply=lambda: ddb.update_table(TableName=table_name, ProvisionedThroughput=new),
    )


def _direction(job: DynamoDBScaleSettings, state: str) -> str | None:
    if job.direction == "down":
        return "down" if state == "ALARM" else None
    if state == "ALARM":
        return "up"
    return "down" if job.lower_on_ok else None


def _target(
    job: DynamoDBScaleSettings,
    direction: str,
    current: int,
    throughput: dict[str, Any],
    now: datetime,
) -> int | Skip:
    if direction == "up":
        if current >= job.ceiling:
            return Skip("at-ceiling", f"{current} units is at or above the ceiling {job.ceiling}")
        return raised(current, job.factor, job.ceiling)
    if current <= job.floor:
        return Skip("at-floor", f"{current} units is at or below the floor {job.floor}")
    return decrease_budget_skip(throughput, now) or lowered(current, job.factor, job.floor)


def decrease_budget_skip(throughput: dict[str, Any], now: datetime) -> Skip | None:
    """DynamoDB's decrease rule, from what DescribeTable says about today."""
    done = int(throughput.get("NumberOfDecreasesToday", 0))
    if done < FREE_DECREASES:
        return None
    last = throughput.get("LastDecreaseDateTime")
    if last is not None and now - last < DECREASE_INTERVAL:
        wait = DECREASE_INTERVAL - (now - last)
        return Skip(
            "decrease-budget",
            f"{done} decreases today and the last was under an hour ago: "
            f"the next is possible in {math.ceil(wait.total_seconds() / 60)} min",
        )
    return None


def _unchangeable(table: dict[str, Any]) -> Skip | None:
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    if mode == "PAY_PER_REQUEST":
        return Skip("on-demand", f"table {table['TableName']} is on-demand: no capacity to set")
    if table.get("TableStatus") != "ACTIVE":
        return Skip("busy", f"table {table['TableName']} is {table.get('TableStatus')}, not ACTIVE")
    return None


def _autoscaled(clients: Clients, table_name: str, capacity: str) -> Skip | None:
    dimension = f"dynamodb:table:{'Read' if capacity == 'read' else 'Write'}CapacityUnits"
    targets = clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="dynamodb",
        ResourceIds=[f"table/{table_name}"],
        ScalableDimension=dimension,
    )["ScalableTargets"]
    if not targets:
        return None
    low, high = targets[0]["MinCapacity"], targets[0]["MaxCapacity"]
    return Skip(
        "auto-scaling",
        f"Application Auto Scaling manages {dimension} of {table_name} ({low}-{high}): "
        "change its target, not the capacity",
    )
