"""`target = "log-streams"`: delete log streams that have been quiet for `older_than`.

Log groups come from `DescribeLogGroups(logGroupNamePrefix=...)`, in name order. A stream's age
is that of its newest activity, `max(lastEventTimestamp, lastIngestionTime)`: AWS updates
`lastEventTimestamp` only eventually (usually within the hour), and a stream that just received
back-dated events is in use. An empty stream (no events ever) ages from its `creationTime`.

Streams are listed in name order (the default), not `orderBy=LastEventTime`: name order keeps a
`nextToken` meaningful while streams are written to and deleted, so a stopped run can hand the
token on; and AWS does not document where empty streams sort by last event time, so that order
cannot end a listing early either.

A group is worked in chunks of up to `CHUNK` streams (listed, decided, capped, deleted), so the
caps see a large sample before anything is deleted and a group of any size makes progress. The
last stream of a chunk is the anchor of the token that lists the next one, so it is deleted
only after that token has been used: a token never points after a stream that no longer exists.

The function's own current stream (`$AWS_LAMBDA_LOG_GROUP_NAME`/`$AWS_LAMBDA_LOG_STREAM_NAME`)
is never deleted even when the prefix covers its own log group: its last event may lag behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from functions.purge.pacing import Clock, PacedClient, error_code
from functions.purge.planning import Deletion, TargetRun, write_cursor
from functions.purge.report import PurgeReport
from functions.purge.settings import PacedSettings
from functions.runtime.budget import TimeBudget

TARGET = "log-streams"  # the purge target this module runs (functions.runtime.registry)
CHUNK = 1000  # streams decided together: 20 DescribeLogStreams pages
GONE = frozenset({"ResourceNotFoundException"})
MAX_CURSOR_BYTES = 1024  # what a continuation event carries (functions/purge/continuation.py)


@dataclass
class Sweep:
    """What one run works with while it goes through the groups."""

    purge: TargetRun
    logs: PacedClient
    budget: TimeBudget
    cutoff_ms: int
    own: tuple[str | None, str | None]
    chunk: int = CHUNK
    anchor: str | None = None  # the previous chunk's last stream, deleted after the next listing
    stopped: bool = field(default=False)


@dataclass(frozen=True, kw_only=True)
class LogStreamsSettings(PacedSettings):
    """A log-streams job's `$OPS_JOB` (ops/models/purge.py::LogStreamsPurge)."""

    log_group_prefix: str


Settings = LogStreamsSettings  # the job's view (functions/purge/handler.py reads it)


def run(
    job: LogStreamsSettings,
    *,
    now: datetime,
    budget: TimeBudget,
    event: dict[str, Any],
    logs_client: Any = None,
    clock: Clock | None = None,
    own_stream: tuple[str | None, str | None] | None = None,
    chunk: int = CHUNK,
) -> PurgeReport:
    purge = TargetRun.start(
        job, TARGET, event, cursor_keys=("group", "token", "anchor"), clock=clock
    )
    logs = purge.paced(logs_client, "logs")
    cutoff = now - job.age
    own = own_stream or (
        os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
        os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
    )
    sweep = Sweep(purge, logs, budget, int(cutoff.timestamp() * 1000), own, chunk)
    cursor = purge.cursor
    for group in log_groups(logs, job.log_group_prefix, cursor.get("group", "")):
        resume = cursor if group == cursor.get("group") else {}
        purge_group(sweep, group, resume.get("token"), resume.get("anchor"))
        if sweep.stopped:
            break
    return purge.report


def log_groups(logs: PacedClient, prefix: str, start: str) -> list[str]:
    """Groups under `prefix` from `start` (a continued run's group) on, in name order."""
    names = [
        group["logGroupName"]
        for page in logs.pages(
            "describe_log_groups",
            token="nextToken",
            next_token="nextToken",
            logGroupNamePrefix=prefix,
        )
        for group in page["logGroups"]
    ]
    return sorted(n for n in names if n >= start)


def purge_group(sweep: Sweep, group: str, token: str | None, anchor: str | None) -> None:
    """Chunk by chunk through one group, until its last page or the end of the run.

    `anchor` is a candidate the previous hop listed last and left for this one: `token` lists
    the streams after it, so it is deleted once that listing is done.
    """
    from botocore.exceptions import ClientError

    sweep.anchor = anchor
    while not sweep.stopped:
        if sweep.budget.expired():
            return stop_early(sweep, group, token)
        try:
            streams, next_token = list_chunk(sweep, group, token)
        except ClientError as exc:
            if error_code(exc) not in GONE:  # a group deleted meanwhile has nothing to purge
                sweep.purge.report.fail(group, error_code(exc), str(exc)[:300])
            return
        candidates = decide(sweep, group, streams)
        previous, sweep.anchor = sweep.anchor, None
        if next_token and candidates and candidates[-1] == streams[-1]["logStreamName"]:
            sweep.anchor = candidates.pop()
        delete(sweep, group, token, candidates, previous)
        if not next_token:
            return
        token = next_token


def list_chunk(sweep: Sweep, group: str, token: str | None) -> tuple[list[dict[str, Any]], Any]:
    streams: list[dict[str, Any]] = []
    while True:
        params = {"nextToken": token} if token else {}
        limit = min(50, sweep.chunk)
        page = sweep.logs.call("describe_log_streams", logGroupName=group, limit=limit, **params)
        streams += page["logStreams"]
        previous, token = token, page.get("nextToken")
        if not token or token == previous or len(streams) >= sweep.chunk or sweep.budget.expired():
            return streams, (token if token != previous else None)


def decide(sweep: Sweep, group: str, streams: list[dict[str, Any]]) -> list[str]:
    """Names of the streams to delete, in listing order; the rest are kept with a reason."""
    report, candidates = sweep.purge.report, []
    for stream in streams:
        report.examined += 1
        reason = keep_reason(stream, group, sweep.cutoff_ms, sweep.own)
        if reason:
            report.keep(reason)
        else:
            candidates.append(stream["logStreamName"])
    return candidates


def keep_reason(
    stream: dict[str, Any], group: str, cutoff_ms: int, own: tuple[str | None, str | None]
) -> str | None:
    if (group, stream["logStreamName"]) == own:
        return "own-stream"
    last = max(stream.get("lastEventTimestamp") or 0, stream.get("lastIngestionTime") or 0)
    if last:
        return "recent-events" if last >= cutoff_ms else None
    return "young-empty" if stream["creationTime"] >= cutoff_ms else None


def delete(
    sweep: Sweep, group: str, token: str | None, names: list[str], previous: str | None
) -> None:
    """The chunk's deletions within the caps; on running out of time, resume at `token`.

    The previous chunk's anchor comes last: until it is deleted `token` stays valid.
    """
    names = names + ([previous] if previous else [])
    allowed, done = sweep.purge.delete(
        names, partial(_deletion, sweep.logs, group), sweep.budget, gone=GONE
    )
    if sweep.purge.report.status == "capped":
        sweep.stopped = True
    elif done < len(allowed):
        # `token` lists this chunk again; `previous`, listed before it, is still to be deleted.
        sweep.anchor = previous
        stop_early(sweep, group, token)


def stop_early(sweep: Sweep, group: str, token: str | None) -> None:
    """Hand on where the next hop starts: `token`, and the candidate it is anchored on."""
    prior, report = sweep.purge.cursor, sweep.purge.report
    cursor = write_cursor(prior, report, group=group, token=token, anchor=sweep.anchor)
    if len(cursor.encode()) > MAX_CURSOR_BYTES:  # long names and token: restart the group
        cursor = write_cursor(prior, report, group=group)
    report.stop("stopped-early", f"time budget reached in {group}", cursor)
    sweep.stopped = True


def _deletion(logs: PacedClient, group: str, name: str) -> Deletion:
    return Deletion(
        f"{group}:{name}",
        lambda: logs.call("delete_log_stream", logGroupName=group, logStreamName=name),
    )
