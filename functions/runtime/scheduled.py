"""Whether an event is a schedule firing: what every scheduled function accepts, and nothing else.

A function that deletes or copies on a schedule must not be set going by an event it was not
meant for (an S3 notification, an SNS alarm, a CloudWatch Logs payload, a rule pointed at the
wrong target). A schedule's event is:
- `{}`: what EventBridge Scheduler sends when a schedule has no input;
- an EventBridge "Scheduled Event" from `aws.events` (a rule) or `aws.scheduler`, with nothing
  but the envelope's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCHEDULED_SOURCES = frozenset({"aws.events", "aws.scheduler"})
SCHEDULED = "Scheduled Event"
ENVELOPE = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)


def not_a_schedule(event: Any) -> str | None:
    """What the event is, when it is not a schedule's; None for a schedule's."""
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
