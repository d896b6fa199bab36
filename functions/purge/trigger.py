"""What may start a purge job: its own schedule, or its own hand-off. Every other event is refused.

A purge function deletes data, so an event it was not meant for (an S3 notification, an SNS
alarm, a CloudWatch Logs payload, a rule someone pointed at the wrong target) must not set it
going. Accepted:
- `{}`: what EventBridge Scheduler sends when a schedule has no input;
- an EventBridge "Scheduled Event" from `aws.events` (a rule) or `aws.scheduler`, with nothing
  but the envelope's fields;
- the job's own continuation (see `continuation.py`), checked field by field.

Anything else raises `Rejected` with what the event looked like, before any AWS call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.purge.continuation import KEY, Continuation, older_than
from functions.purge.report import Rejected

SCHEDULED_SOURCES = frozenset({"aws.events", "aws.scheduler"})
SCHEDULED = "Scheduled Event"
ENVELOPE = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)


@dataclass(frozen=True)
class Start:
    """How a run starts: its cutoff, the continuation it resumes (if any), and the event the
    target reads (`{}` or the checked cursor alone)."""

    cutoff: datetime
    resumed: Continuation | None = None
    event: dict[str, Any] = field(default_factory=dict)


def start(event: Any, job: Mapping[str, Any], clock: datetime) -> Start:
    """The run `event` starts for `job` at `clock`; `Rejected` if it is not this job's to start."""
    if isinstance(event, Mapping) and KEY in event:
        resumed = Continuation.from_event(event, job, clock)
        assert resumed is not None  # KEY is there
        return Start(resumed.cutoff, resumed, {"cursor": resumed.cursor})
    refuse_foreign(event)
    return Start(clock - older_than(job))


def refuse_foreign(event: Any) -> None:
    """Raise `Rejected` unless `event` is the job's schedule firing."""
    reason = foreign(event)
    if reason:
        raise Rejected(f"refused {reason}: a purge job runs only on its own schedule")


def foreign(event: Any) -> str | None:
    """What the event is, when it is not a scheduled run's; None for a schedule's."""
    if not isinstance(event, Mapping):
        return f"a {type(event).__name__} event"
    if not event:
        return None
    if "Records" in event:
        records = event["Records"] if isinstance(event["Records"], list) else []
        sources = sorted({_source(r) for r in records})
        return f"an event notification with Records ({', '.join(sources) or 'unknown source'})"
    if "awslogs" in event:
        return "a CloudWatch Logs subscription payload (awslogs)"
    if "cursor" in event:
        return f"a cursor without its {KEY}"
    kind, source = event.get("detail-type"), event.get("source")
    if isinstance(kind, str) and "alarm" in kind.lower():
        return f"a CloudWatch alarm event ({kind!r} from {source!r})"
    if source not in SCHEDULED_SOURCES or kind != SCHEDULED:
        return f"an event from {source!r} ({kind!r})" if source or kind else _keys(event)
    if set(event) - ENVELOPE:
        return f"a scheduled event with extra fields {sorted(set(event) - ENVELOPE)}"
    return None


def _source(record: Any) -> str:
    if not isinstance(record, Mapping):
        return "unknown source"
    return str(record.get("eventSource") or record.get("EventSource") or "unknown source")


def _keys(event: Mapping[str, Any]) -> str:
    return f"an event with keys {sorted(map(str, event))[:10]}"
