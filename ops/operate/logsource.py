"""Reading the functions' log lines: CloudWatch Logs Insights, or FilterLogEvents where Insights
is not available (no `logs:StartQuery` permission, an emulator without it, a failed query).

Both give `LogLine`s, oldest first. Insights answers at most 10,000 rows a query and takes at most
50 log groups: a window that comes back full is split in two and each half asked again, and the
groups go 50 at a time. FilterLogEvents is read page by page to its last `nextToken`. Either way
only existing groups are asked (a StartQuery naming a missing group fails as a whole).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops.errors import OpsError

INSIGHTS_ROWS = 10_000  # GetQueryResults' most rows per query
INSIGHTS_GROUPS = 50  # StartQuery's most log group names
POLL_SECONDS = 1.0
QUERY_TIMEOUT = 300.0  # seconds to wait for one query; AWS ends them after 60 minutes
# Errors meaning "Insights is not there for us", after which FilterLogEvents is used instead.
INSIGHTS_UNAVAILABLE = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidOperationException",
    "UnknownOperationException",
    "NotImplemented",
    "LimitExceededException",  # 30 concurrent queries per account: read the events instead
}


@dataclass(frozen=True)
class LogLine:
    timestamp: int  # ms since the epoch
    group: str
    stream: str
    message: str
    event_id: str = ""  # FilterLogEvents' eventId (Insights gives none)

    @property
    def function(self) -> str:
        return self.group.rpartition("/")[2]

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, UTC)


class InsightsUnavailable(OpsError):
    """Insights refused or failed the query: read the events with FilterLogEvents instead."""


def existing_groups(logs: Any, groups: Iterable[str]) -> list[str]:
    """The groups of `groups` that exist (DescribeLogGroups by each name as prefix)."""
    found = []
    for group in sorted(set(groups)):
        pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=group)
        if any(g["logGroupName"] == group for page in pages for g in page["logGroups"]):
            found.append(group)
    return found


def filter_events(
    logs: Any,
    groups: Sequence[str],
    start_ms: int,
    end_ms: int,
    pattern: str = "",
) -> list[LogLine]:
    """Every event of `groups` in [start, end] matching `pattern`, all pages, oldest first."""
    lines = []
    for group in groups:
        args: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "endTime": end_ms}
        if pattern:
            args["filterPattern"] = pattern
        for page in logs.get_paginator("filter_log_events").paginate(**args):
            lines += [_event_line(group, e) for e in page.get("events", [])]
    return sorted(lines, key=lambda line: (line.timestamp, line.group, line.stream))


def _event_line(group: str, event: dict[str, Any]) -> LogLine:
    return LogLine(
        int(event["timestamp"]),
        group,
        str(event.get("logStreamName", "")),
        event["message"],
        str(event.get("eventId", "")),
    )


def insights_events(
    logs: Any,
    groups: Sequence[str],
    start_ms: int,
    end_ms: int,
    filter_clause: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[LogLine]:
    """Every matching line of `groups` in [start, end] through Insights, oldest first.

    `filter_clause` is the query's `filter` expression. Raises InsightsUnavailable when the
    service refuses or fails the query, so the caller can read the events instead.
    """
    query = (
        "fields @timestamp, @message, @log, @logStream"
        f" | filter {filter_clause}"
        f" | sort @timestamp asc | limit {INSIGHTS_ROWS}"
    )
    lines: list[LogLine] = []
    for start in range(0, len(groups), INSIGHTS_GROUPS):
        chunk = list(groups[start : start + INSIGHTS_GROUPS])
        lines += _window(logs, chunk, start_ms, end_ms, query, sleep, clock)
    return sorted(lines, key=lambda line: (line.timestamp, line.group, line.stream))


def _window(
    logs: Any,
    groups: list[str],
    start_ms: int,
    end_ms: int,
    query: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> list[LogLine]:
    """One query over [start, end]; a full answer is split in halves (Insights' time unit is
    the second, so a one-second window that is still full is reported as such)."""
    # Insights takes whole seconds: ask for every second the window touches, keep the window.
    rows = _query(logs, groups, start_ms // 1000, -(-end_ms // 1000), query, sleep, clock)
    if len(rows) < INSIGHTS_ROWS or end_ms - start_ms < 2000:
        lines = (_row_line(row) for row in rows)
        return [line for line in lines if start_ms <= line.timestamp <= end_ms]
    middle = (start_ms + end_ms) // 2000 * 1000
    return _window(logs, groups, start_ms, middle - 1, query, sleep, clock) + _window(
        logs, groups, middle, end_ms, query, sleep, clock
    )


def _query(
    logs: Any,
    groups: list[str],
    start_s: int,
    end_s: int,
    query: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> list[list[dict[str, str]]]:
    from botocore.exceptions import ClientError

    try:
        query_id = logs.start_query(
            logGroupNames=groups, startTime=start_s, endTime=end_s, queryString=query
        )["queryId"]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in INSIGHTS_UNAVAILABLE:
            raise InsightsUnavailable(f"StartQuery: {code}") from exc
        raise
    deadline = clock() + QUERY_TIMEOUT
    while True:
        answer = logs.get_query_results(queryId=query_id)
        status = answer.get("status")
        if status == "Complete":
            rows: list[list[dict[str, str]]] = answer.get("results", [])
            return rows
        if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
            raise InsightsUnavailable(f"query {query_id} ended {status}")
        if clock() > deadline:
            logs.stop_query(queryId=query_id)
            raise InsightsUnavailable(f"query {query_id} still {status} after {QUERY_TIMEOUT}s")
        sleep(POLL_SECONDS)


def _row_line(row: list[dict[str, str]]) -> LogLine:
    fields = {f["field"]: f.get("value", "") for f in row}
    group = fields.get("@log", "")
    # @log is "ACCOUNT:GROUP" for queries that may span accounts
    group = group.partition(":")[2] if ":" in group and not group.startswith("/") else group
    return LogLine(
        insights_time(fields.get("@timestamp", "")),
        group,
        fields.get("@logStream", ""),
        fields.get("@message", ""),
    )


def insights_time(value: str) -> int:
    """Insights' `@timestamp` ("2026-12-03 10:15:04.123", UTC) in ms since the epoch."""
    if value.isdigit():  # an emulator answering with epoch milliseconds
        return int(value)
    parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def read_lines(
    logs: Any,
    groups: Sequence[str],
    start_ms: int,
    end_ms: int,
    *,
    insights_filter: str,
    pattern: str,
    source: str = "auto",
    warn: Callable[[str], None] = lambda _m: None,
) -> Iterator[LogLine]:
    """Insights (`source="insights"`), FilterLogEvents (`"filter"`), or Insights falling back
    to FilterLogEvents when it is not available (`"auto"`)."""
    if source != "filter":
        try:
            yield from insights_events(logs, groups, start_ms, end_ms, insights_filter)
            return
        except InsightsUnavailable as exc:
            if source == "insights":
                raise
            warn(f"Logs Insights is not available ({exc}): reading the events instead")
    yield from filter_events(logs, groups, start_ms, end_ms, pattern)
