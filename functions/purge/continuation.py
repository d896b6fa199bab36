"""Work larger than one invocation: a run that reached its time budget hands a cursor on.

With `on_timeout = "continue"` the handler invokes its own function asynchronously with an event
`{"cursor": ..., "ops_continuation": {"job", "hop", "cutoff", "settings"}}`: the target's cursor
(a JSON object only the target reads, with the count deleted so far), the hop number, the run's
cutoff, and a fingerprint of the job's settings. Nothing is kept in module globals: the event is
the only state a hop gets.

Anyone allowed to invoke the function can write such an event, so nothing in it is trusted
beyond what it can only make safer: the cutoff is kept only when the event is this job's, with
the same settings, and never later than the clock allows (`min(carried, clock - older_than)`);
the hop is bounded by `max_hops`; the target rejects a cursor whose counts are not non-negative
whole numbers. A continuation that fails any check is rejected before any AWS call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.purge.report import PurgeReport, Rejected
from functions.purge.settings import PurgeSettings

KEY = "ops_continuation"
FIELDS = frozenset({"job", "hop", "cutoff", "settings"})
# A JSON cursor around a 1,024-byte S3 key: escaping (\\uXXXX) can make it up to six times longer.
MAX_CURSOR_BYTES = 8192
MAX_HOPS = 100


class BadContinuation(Rejected):
    """The event claims to continue a run but is not a hand-off of this job's."""


@dataclass(frozen=True)
class Continuation:
    job: str
    cursor: str
    hop: int  # 1 for the first hand-off
    cutoff: datetime  # the first run's cutoff: it stays put across hops
    settings: str  # fingerprint of the job's settings: a hop runs the job that started it

    @classmethod
    def from_event(
        cls, event: Mapping[str, Any], job: PurgeSettings, clock: datetime
    ) -> Continuation | None:
        """The continuation an event carries, None for any other event (a schedule's).

        Its cutoff is the carried one or `clock - older_than`, whichever is earlier.
        """
        data = event.get(KEY) if isinstance(event, Mapping) else None
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise BadContinuation(f"{KEY} must be an object, got {type(data).__name__}")
        _fields(event, data)
        name = _job(data, job)
        return cls(
            job=name,
            cursor=_cursor(event.get("cursor")),
            hop=_hop(data.get("hop"), job),
            cutoff=min(_time(data.get("cutoff")), clock - job.age),
            settings=_settings(data, job),
        )

    @classmethod
    def first(cls, job: PurgeSettings, cursor: str, cutoff: datetime) -> Continuation:
        return cls(job.name, cursor, 1, cutoff, fingerprint(job))

    def next(self, cursor: str) -> Continuation:
        return Continuation(self.job, cursor, self.hop + 1, self.cutoff, self.settings)

    def payload(self) -> bytes:
        body = {
            "job": self.job,
            "hop": self.hop,
            "cutoff": self.cutoff.isoformat(),
            "settings": self.settings,
        }
        return json.dumps({"cursor": self.cursor, KEY: body}, sort_keys=True).encode()


def fingerprint(job: PurgeSettings) -> str:
    """A digest of every setting of the job: a continuation written under other settings (a
    deploy between hops, another job's event) does not carry its cutoff or counts over.

    Taken over the view's fields, which are every key `ops` renders for the target (checked by
    tests/test_job_views.py), so it is the digest of the rendered `$OPS_JOB` itself."""
    fields = dataclasses.asdict(job)
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cursor_of(event: Mapping[str, Any]) -> str | None:
    """Where a target resumes: the event's `cursor`, else (a scheduled run) the beginning."""
    if not isinstance(event, Mapping) or event.get("cursor") is None:
        return None
    return _cursor(event.get("cursor"))


def hand_on(
    report: PurgeReport,
    job: PurgeSettings,
    resumed: Continuation | None,
    *,
    function_name: str,
    cutoff: datetime,
    client: Any = None,
) -> None:
    """Invoke `function_name` again with the report's cursor, when the job asks for it.

    `client` is a Lambda client; without one the shared lazy client is used.
    """
    if report.status != "stopped-early" or not report.cursor:
        return
    if job.on_timeout != "continue":
        report.reason += "; the next schedule continues"
        return
    nxt = resumed.next(report.cursor) if resumed else Continuation.first(job, report.cursor, cutoff)
    if nxt.hop > max_hops(job):
        report.reason += f"; max_hops={max_hops(job)} reached, the next schedule continues"
        return
    report.continuation = {"hop": nxt.hop, "cursor": report.cursor}
    try:
        reply = (client or _lambda_client()).invoke(
            FunctionName=function_name, InvocationType="Event", Payload=nxt.payload()
        )
        report.api_calls["Invoke"] += 1
    except Exception as exc:  # any failure is reported: the next schedule is the fallback
        report.continuation["error"] = f"{type(exc).__name__}: {exc}"
        report.reason += "; the hand-off failed, the next schedule continues"
        return
    report.reason += f"; handed on to hop {nxt.hop} (status {reply.get('StatusCode')})"


def max_hops(job: PurgeSettings) -> int:
    value = job.max_hops
    return min(value, MAX_HOPS) if value > 0 else 10


def _lambda_client() -> Any:
    from functions.runtime.aws import client

    return client("lambda")


def _fields(event: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    extra = sorted(set(event) - {"cursor", KEY}) + sorted(f"{KEY}.{k}" for k in set(data) - FIELDS)
    missing = sorted(f"{KEY}.{k}" for k in FIELDS - set(data))
    if extra or missing:
        said = "; ".join(p for p in (_names("unexpected", extra), _names("missing", missing)) if p)
        raise BadContinuation(f"not a hand-off this function writes: {said}")


def _names(what: str, names: list[str]) -> str:
    return f"{what} {', '.join(names)}" if names else ""


def _job(data: Mapping[str, Any], job: PurgeSettings) -> str:
    # A continuation meant for another job (a copied event) must not run against this one.
    name = job.name
    if data.get("job") != name:
        raise BadContinuation(f"{KEY} is for job {data.get('job')!r}, this function runs {name!r}")
    return name


def _settings(data: Mapping[str, Any], job: PurgeSettings) -> str:
    if data.get("settings") != fingerprint(job):
        raise BadContinuation(
            f"{KEY}.settings do not match this job's: written under other settings "
            "(a deploy between hops?) or not by this job; the next schedule starts afresh"
        )
    return fingerprint(job)


def _cursor(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadContinuation(f"cursor must be a non-empty string, got {value!r}")
    if len(value.encode()) > MAX_CURSOR_BYTES:
        raise BadContinuation(f"cursor is longer than {MAX_CURSOR_BYTES} bytes")
    return value


def _hop(value: Any, job: PurgeSettings) -> int:
    limit = max_hops(job)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise BadContinuation(
            f"{KEY}.hop must be a whole number from 1 to max_hops={limit}, got {value!r}"
        )
    return value


def _time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadContinuation(f"{KEY}.cutoff must be an ISO-8601 time with a zone, got {value!r}")
    return parsed
