"""What may start a purge job: its own schedule, or its own hand-off. Every other event is refused.

A purge function deletes data, so an event it was not meant for (an S3 notification, an SNS
alarm, a CloudWatch Logs payload, a rule someone pointed at the wrong target) must not set it
going. Accepted: a schedule's event (`functions/runtime/scheduled.py`: `{}` or an EventBridge
"Scheduled Event"), or the job's own continuation (see `continuation.py`), checked field by field.

Anything else raises `Rejected` with what the event looked like, before any AWS call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.purge.continuation import KEY, Continuation
from functions.purge.report import Rejected
from functions.purge.settings import PurgeSettings
from functions.runtime.scheduled import not_a_schedule


@dataclass(frozen=True)
class Start:
    """How a run starts: its cutoff, the continuation it resumes (if any), and the event the
    target reads (`{}` or the checked cursor alone)."""

    cutoff: datetime
    resumed: Continuation | None = None
    event: dict[str, Any] = field(default_factory=dict)


def start(event: Any, job: PurgeSettings, clock: datetime) -> Start:
    """The run `event` starts for `job` at `clock`; `Rejected` if it is not this job's to start."""
    if isinstance(event, Mapping) and KEY in event:
        resumed = Continuation.from_event(event, job, clock)
        assert resumed is not None  # KEY is there
        return Start(resumed.cutoff, resumed, {"cursor": resumed.cursor})
    refuse_foreign(event)
    return Start(clock - job.age)


def refuse_foreign(event: Any) -> None:
    """Raise `Rejected` unless `event` is the job's schedule firing."""
    reason = foreign(event)
    if reason:
        raise Rejected(f"refused {reason}: a purge job runs only on its own schedule")


def foreign(event: Any) -> str | None:
    """What the event is, when it is not a scheduled run's; None for a schedule's."""
    if isinstance(event, Mapping) and "cursor" in event:
        return f"a cursor without its {KEY}"
    return not_a_schedule(event)
