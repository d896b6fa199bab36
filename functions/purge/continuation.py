"""Work larger than one invocation: a run that reached its time budget hands a cursor on.

With `on_timeout = "continue"` the handler invokes its own function asynchronously with an event
`{"cursor": ..., "ops_continuation": {"job": ..., "hop": ..., "now": ...}}`: the target's cursor
(a string only the target reads: an S3 key, a JSON object...), the hop number and the run's
original `now`, so every hop of one purge uses the same cutoff. Nothing is kept in module
globals: the event is the only state a hop gets.

The continuation event is validated before any AWS call, so a malformed one changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.purge.report import PurgeReport

KEY = "ops_continuation"
MAX_CURSOR_BYTES = 1024  # an S3 key, the longest cursor a target hands on


class BadContinuation(ValueError):
    """The event claims to continue a run but does not say where from."""


@dataclass(frozen=True)
class Continuation:
    job: str
    cursor: str
    hop: int  # 1 for the first hand-off
    now: datetime  # the first run's clock: the cutoff stays put across hops

    @classmethod
    def from_event(cls, event: Mapping[str, Any], job: str) -> Continuation | None:
        """The continuation an event carries, None for any other event (a schedule's)."""
        data = event.get(KEY) if isinstance(event, Mapping) else None
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise BadContinuation(f"{KEY} must be an object, got {type(data).__name__}")
        return cls(
            job=_job(data, job),
            cursor=_cursor(event.get("cursor")),
            hop=_hop(data.get("hop")),
            now=_now(data.get("now")),
        )

    def payload(self) -> bytes:
        body = {"job": self.job, "hop": self.hop, "now": self.now.isoformat()}
        return json.dumps({"cursor": self.cursor, KEY: body}, sort_keys=True).encode()


def cursor_of(event: Mapping[str, Any]) -> str | None:
    """Where a target resumes: the event's `cursor`, else (a scheduled run) the beginning."""
    if not isinstance(event, Mapping) or event.get("cursor") is None:
        return None
    return _cursor(event.get("cursor"))


def hand_on(
    report: PurgeReport,
    job: Mapping[str, Any],
    resumed: Continuation | None,
    *,
    function_name: str,
    now: datetime,
    client: Any = None,
) -> None:
    """Invoke `function_name` again with the report's cursor, when the job asks for it.

    `client` is a Lambda client; without one the shared lazy client is used.
    """
    if report.status != "stopped-early" or not report.cursor:
        return
    if job.get("on_timeout", "next-schedule") != "continue":
        report.reason += "; the next schedule continues"
        return
    hop = (resumed.hop if resumed else 0) + 1
    if hop > int(job.get("max_hops", 10)):
        report.reason += (
            f"; max_hops={job.get('max_hops', 10)} reached, the next schedule continues"
        )
        return
    nxt = Continuation(job=str(job.get("name")), cursor=report.cursor, hop=hop, now=now)
    report.continuation = {"hop": hop, "cursor": report.cursor}
    try:
        reply = (client or _lambda_client()).invoke(
            FunctionName=function_name, InvocationType="Event", Payload=nxt.payload()
        )
        report.api_calls["Invoke"] += 1
    except Exception as exc:  # any failure is reported: the next schedule is the fallback
        report.continuation["error"] = f"{type(exc).__name__}: {exc}"
        report.reason += "; the hand-off failed, the next schedule continues"
        return
    report.reason += f"; handed on to hop {hop} (status {reply.get('StatusCode')})"


def _lambda_client() -> Any:
    from functions.runtime.aws import client

    return client("lambda")


def _job(data: Mapping[str, Any], job: str) -> str:
    # A continuation meant for another job (a copied event) must not run against this one.
    if data.get("job") != job:
        raise BadContinuation(f"{KEY} is for job {data.get('job')!r}, this function runs {job!r}")
    return job


def _cursor(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadContinuation(f"cursor must be a non-empty string, got {value!r}")
    if len(value.encode()) > MAX_CURSOR_BYTES:
        raise BadContinuation(f"cursor is longer than {MAX_CURSOR_BYTES} bytes")
    return value


def _hop(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        raise BadContinuation(f"{KEY}.hop must be a whole number from 1 to 100, got {value!r}")
    return value


def _now(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadContinuation(f"{KEY}.now must be an ISO-8601 time with a zone, got {value!r}")
    return parsed
