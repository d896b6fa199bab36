"""Lines that match a pattern -> one alert per batch, with log group, stream, time and a link.

The subscription's filter pattern already chose the lines; an optional regular expression narrows
them further. All matches of a batch become one alert (a count, the first and last times, a few
sample lines and their event ids) that the rate limiter lets out or counts as suppressed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import quote

from functions.logs.decode import LogBatch, LogEvent
from functions.logs.limiter import WindowLimiter
from functions.logs.settings import PatternAlertSettings
from functions.logs.sinks import Sink
from functions.runtime.budget import TimeBudget

LINE_MAX = 1000  # characters quoted per sample line: an alert stays far below SNS's 256 KB


@cache
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass
class AlertReport:
    events: int = 0
    matched: int = 0
    malformed: int = 0
    sent: bool = False
    suppressed: int = 0
    receipt: str = ""
    alert: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "matched": self.matched,
            "malformed": self.malformed,
            "sent": self.sent,
            "suppressed": self.suppressed,
            "receipt": self.receipt,
        }


def matching(batch: LogBatch, pattern: str | None, report: AlertReport) -> list[LogEvent]:
    """Every event whose message matches (all of them without a pattern)."""
    regex = compiled(pattern) if pattern else None
    found = []
    for event in batch.events:
        message = event.get("message") if isinstance(event, dict) else None
        if not isinstance(message, str) or "id" not in event:
            report.malformed += 1
            continue
        if regex is None or regex.search(message):
            found.append(event)
    return found


def console_link(region: str, log_group: str, log_stream: str, timestamp_ms: int) -> str:
    """The CloudWatch console's view of the stream at the line's time."""

    def enc(text: str) -> str:  # the console's fragment encoding: quoted twice, % written $
        return quote(quote(text, safe=""), safe="").replace("%", "$")

    host = console_host(region)
    return (
        f"https://{host}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        f"{enc(log_group)}/log-events/{enc(log_stream)}{enc('?start=')}{timestamp_ms}"
    )


def console_host(region: str) -> str:
    if region.startswith("cn-"):
        return "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "console.amazonaws-us-gov.com"
    return f"{region}.console.aws.amazon.com"


def build_alert(
    processor: str, batch: LogBatch, matches: list[LogEvent], region: str, samples: int
) -> dict[str, Any]:
    first, last = matches[0], matches[-1]
    ids = "\n".join(sorted(str(e["id"]) for e in matches))
    return {
        "processor": processor,
        "log_group": batch.log_group,
        "log_stream": batch.log_stream,
        "count": len(matches),
        "first_time": _iso(first.get("timestamp")),
        "last_time": _iso(last.get("timestamp")),
        "link": console_link(region, batch.log_group, batch.log_stream, _ms(first)),
        "first_event_id": str(first["id"]),
        "dedupe_key": hashlib.sha256(ids.encode()).hexdigest(),
        "lines": [
            {"id": str(e["id"]), "time": _iso(e.get("timestamp")), "message": _line(e)}
            for e in matches[:samples]
        ],
        "suppressed_before": 0,
    }


def alert_batch(
    batch: LogBatch,
    job: PatternAlertSettings,
    *,
    sink: Sink,
    limiter: WindowLimiter,
    now: datetime,
    budget: TimeBudget,
    region: str,
) -> AlertReport:
    """One alert for the batch's matches, if the window has room; raises when the sink fails."""
    report = AlertReport(events=len(batch.events))
    matches = matching(batch, job.pattern, report)
    report.matched = len(matches)
    if not matches:
        return report
    decision = limiter.acquire(now.timestamp(), len(matches))
    if not decision.allowed:
        report.suppressed = len(matches)
        return report
    alert = build_alert(job.name, batch, matches, region, job.sample_lines)
    alert["suppressed_before"] = decision.suppressed_before
    try:
        report.receipt = sink.send(alert, budget)
    except Exception:
        limiter.release(decision)
        raise
    report.sent, report.alert = True, alert
    return report


def _ms(event: LogEvent) -> int:
    stamp = event.get("timestamp")
    return stamp if isinstance(stamp, int) else 0


def _iso(stamp: Any) -> str:
    """The event's time, or "" for a timestamp that is no time (one bad event never drops the
    alert for the others)."""
    if not isinstance(stamp, int):
        return ""
    try:
        moment = datetime.fromtimestamp(stamp / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp % 1000:03d}Z"


def _line(event: LogEvent) -> str:
    message = event["message"].rstrip("\n")
    return message if len(message) <= LINE_MAX else message[:LINE_MAX] + "…"
