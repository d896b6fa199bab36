"""`rds-extend-storage`: grow an instance's allocated storage by a step, up to a ceiling.

RDS rules respected: an increase must be at least 10 %; after one, the instance shows status
`storage-optimization` and refuses another storage change for 6 hours or while optimizing,
whichever is longer. Our own changes are remembered in the marker table (the cool-down); changes
made by others are caught by the status check, and by RDS's own refusal, which is reported as a
skip rather than retried. Storage autoscaling (MaxAllocatedStorage) owns the size when it is on;
Aurora's cluster volume grows by itself. Storage never shrinks, so OK does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.responders.alarm import AlarmEvent
from functions.responders.plan import ActionRefused, Clients, Skip, Step, wrong_resource
from functions.responders.settings import ResponderSettings

ACTION = (
    "rds-extend-storage"  # the responder action this module performs (functions.runtime.registry)
)

MIN_STEP_PERCENT = 10  # RDS rejects an increase of less than 10 %
REFUSALS = ("InvalidParameterCombination", "InvalidDBInstanceState", "StorageQuotaExceeded")


@dataclass(frozen=True, kw_only=True)
class RdsExtendStorageSettings(ResponderSettings):
    """A rds-extend-storage responder's `$OPS_JOB` (ops/models/responder.py::RdsExtendStorage)."""

    db_instance: str
    step_percent: int
    ceiling_gb: int


Settings = RdsExtendStorageSettings  # the responder's view (functions/responders/settings.py)


def plan(
    job: RdsExtendStorageSettings,
    alarm: AlarmEvent,
    clients: Clients,
    now: datetime,
    current_state: str,
    markers: Any = None,  # the marker store; this action keeps nothing in it
) -> Step | Skip:
    ident = job.db_instance
    skip = wrong_resource(alarm.dimension("DBInstanceIdentifier"), "DBInstanceIdentifier", ident)
    if skip or alarm.state != "ALARM":
        return skip or Skip("no-action", "OK: allocated storage never shrinks")
    rds = clients("rds")
    instance = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
    skip = _unchangeable(instance)
    if skip:
        return skip
    current, ceiling = int(instance["AllocatedStorage"]), job.ceiling_gb
    target = min(ceiling, current + _percent_of(current, job.step_percent))
    if current >= ceiling or target < current + _percent_of(current, MIN_STEP_PERCENT):
        return Skip(
            "at-ceiling",
            f"{current} GiB: the ceiling {ceiling} GiB leaves no room for a 10% increase",
        )

    def apply() -> None:
        try:
            rds.modify_db_instance(
                DBInstanceIdentifier=ident, AllocatedStorage=target, ApplyImmediately=True
            )
        except rds.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in REFUSALS:
                raise ActionRefused(exc.response["Error"].get("Message", str(exc))) from exc
            raise

    return Step(f"rds:db/{ident}", "allocated storage (GiB)", current, target, apply)


def _percent_of(size: int, percent: int) -> int:
    """`percent` % of `size` GiB, rounded up, in integers (110.00000000000001 is not 111)."""
    return -(-size * percent // 100)


def _unchangeable(instance: dict[str, Any]) -> Skip | None:
    ident, status = instance["DBInstanceIdentifier"], instance.get("DBInstanceStatus")
    if str(instance.get("Engine", "")).startswith("aurora"):
        return Skip("not-applicable", f"{ident} is Aurora: its cluster volume grows by itself")
    if status == "storage-optimization":
        return Skip("cooldown", f"{ident} is still optimizing its last storage change")
    if status != "available":
        return Skip("busy", f"{ident} is {status}, not available")
    pending = (instance.get("PendingModifiedValues") or {}).get("AllocatedStorage")
    if pending:
        return Skip("busy", f"{ident} already has a storage change to {pending} GiB pending")
    if instance.get("MaxAllocatedStorage"):
        return Skip(
            "auto-scaling",
            f"{ident} has storage autoscaling up to {instance['MaxAllocatedStorage']} GiB",
        )
    return None
