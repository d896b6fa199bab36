"""`ops report`: what every job of the stack did in a window, from its own log lines.

Each function logs one JSON report line per run (`purge report`, `deploy report`, `responder
report`; `purge event rejected` for an event it refused) and Lambda writes a `REPORT RequestId`
line per invocation (with `Status: error|timeout` where the runtime says so) and `Task timed
out` lines. A run is a request id seen in either; it failed when its report says so (a capped or
failed purge, a failed deploy record, a failed responder outcome) or Lambda says it ended in an
error or a timeout. Lines that are none of these are ignored, so a superset of them is harmless.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ops.operate.logsource import LogLine

REPORT_MESSAGES = ("purge report", "deploy report", "responder report", "purge event rejected")
# FilterLogEvents: any of these terms (CloudWatch's `?term` OR syntax)
FILTER_PATTERN = " ".join(
    f'?"{term}"' for term in (*REPORT_MESSAGES, "REPORT RequestId", "Task timed out")
)
INSIGHTS_FILTER = (
    "@message like /purge report|deploy report|responder report|purge event rejected"
    "|REPORT RequestId|Task timed out/"
)
_REPORT = re.compile(r"^REPORT RequestId: (\S+)")
_STATUS = re.compile(r"\bStatus: (\w+)")
_TIMED_OUT = re.compile(r"^(?:\S+ )?(\S+) Task timed out after ([\d.]+) seconds")


@dataclass
class JobSummary:
    """One function's window: counts add up across its report lines."""

    job: str
    family: str
    function: str
    runs: set[str] = field(default_factory=set)  # request ids
    failed_runs: set[str] = field(default_factory=set)
    deleted: int = 0
    would_delete: int = 0  # dry runs
    kept: int = 0
    skipped: int = 0
    failed: int = 0
    capped: int = 0
    rejected: int = 0
    acted: int = 0
    deployed: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    last_error: str = ""
    last_error_at: int = 0
    last_run_at: int = 0
    logs_found: bool = True

    @property
    def attention(self) -> tuple[int, ...]:
        """Sort key: failed runs first, then caps, rejections, silence, then the rest."""
        return (
            -len(self.failed_runs),
            -self.capped,
            -self.failed,
            -self.rejected,
            0 if not self.runs else 1,
        )

    def error(self, at: int, message: str) -> None:
        if at >= self.last_error_at:
            self.last_error, self.last_error_at = message[:300], at

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "family": self.family,
            "function": self.function,
            "runs": len(self.runs),
            "runs_failed": len(self.failed_runs),
            "deleted": self.deleted,
            "would_delete": self.would_delete,
            "kept": self.kept,
            "skipped": self.skipped,
            "failed": self.failed,
            "capped": self.capped,
            "rejected": self.rejected,
            "acted": self.acted,
            "deployed": self.deployed,
            "skip_reasons": dict(sorted(self.skip_reasons.items())),
            "last_error": self.last_error or None,
            "last_run": _iso(self.last_run_at),
            "logs_found": self.logs_found,
        }


def summarise(summaries: dict[str, JobSummary], lines: Iterable[LogLine]) -> list[JobSummary]:
    """Fold `lines` into the summaries (keyed by function name); sorted by attention."""
    for line in lines:
        summary = summaries.get(line.function)
        if summary is not None:
            read_line(summary, line)
    return sorted(summaries.values(), key=lambda s: (s.attention, s.job))


def read_line(summary: JobSummary, line: LogLine) -> None:
    text = line.message.strip()
    if text.startswith("{"):
        _json_line(summary, line, text)
        return
    if match := _REPORT.match(text):
        _run(summary, match.group(1), line.timestamp)
        status = _STATUS.search(text)
        request = match.group(1)
        if (
            status
            and status.group(1) in ("error", "timeout")
            and request not in summary.failed_runs
        ):
            # the run's own line (a report, "Task timed out") says more, where there is one
            summary.failed_runs.add(request)
            summary.error(line.timestamp, f"Lambda: invocation ended with status {status}")
    elif match := _TIMED_OUT.search(text):
        _run(summary, match.group(1), line.timestamp)
        summary.failed_runs.add(match.group(1))
        summary.error(line.timestamp, f"Task timed out after {match.group(2)} seconds")


def _json_line(summary: JobSummary, line: LogLine, text: str) -> None:
    try:
        doc = json.loads(text)
    except ValueError:
        return
    if not isinstance(doc, dict) or doc.get("message") not in REPORT_MESSAGES:
        return
    request = str(doc.get("request_id") or f"{line.stream}@{line.timestamp}")
    _run(summary, request, line.timestamp)
    report = _dict(doc.get("report"))
    failed = READERS[str(doc["message"])](summary, doc, report, line.timestamp)
    if failed:
        summary.failed_runs.add(request)


def _run(summary: JobSummary, request: str, at: int) -> None:
    summary.runs.add(request)
    summary.last_run_at = max(summary.last_run_at, at)


def _purge(summary: JobSummary, _doc: dict[str, Any], report: dict[str, Any], at: int) -> bool:
    deleted = _int(report.get("deleted"))
    if report.get("dry_run"):
        summary.would_delete += deleted
    else:
        summary.deleted += deleted
    summary.kept += sum(_int(v) for v in _dict(report.get("kept")).values())
    failed = sum(_int(v) for v in _dict(report.get("failed")).values())
    summary.failed += failed
    status = report.get("status")
    summary.capped += status == "capped"
    if status in ("capped", "failed") or failed:
        first = next(iter(report.get("failures") or []), None)
        detail = f"{first.get('code')}: {first.get('message')}" if isinstance(first, dict) else ""
        summary.error(at, f"purge {status}: {report.get('reason') or detail}".rstrip(": "))
        return True
    if status == "stopped-early":
        summary.skip_reasons[f"stopped early: {report.get('reason', '')}"] += 1
    return False


def _rejected(summary: JobSummary, doc: dict[str, Any], _r: dict[str, Any], _at: int) -> bool:
    summary.rejected += 1
    summary.skip_reasons[f"event rejected: {doc.get('reason', '')}"] += 1
    return False


def _deploy(summary: JobSummary, _doc: dict[str, Any], report: dict[str, Any], at: int) -> bool:
    failed = False
    for record in report.get("records") or []:
        status = record.get("status") if isinstance(record, dict) else None
        reason = str(record.get("reason", "")) if isinstance(record, dict) else ""
        if status == "deployed":
            summary.deployed += 1
        elif status == "skipped":
            summary.skipped += 1
            summary.skip_reasons[reason] += 1
        elif status == "rejected":
            summary.rejected += 1
            summary.skip_reasons[f"rejected: {reason}"] += 1
        elif status == "failed":
            summary.failed += 1
            summary.error(at, f"deploy of {record.get('function', '?')} failed: {reason}")
            failed = True
    return failed


def _responder(summary: JobSummary, _d: dict[str, Any], report: dict[str, Any], at: int) -> bool:
    failed = False
    for outcome in report.get("outcomes") or []:
        if not isinstance(outcome, dict):
            continue
        status, reason = outcome.get("status"), str(outcome.get("reason", ""))
        if status == "acted":
            summary.acted += 1
        elif status == "skipped":
            summary.skipped += 1
            summary.skip_reasons[str(outcome.get("code") or reason)] += 1
        elif status == "rejected":
            summary.rejected += 1
            summary.skip_reasons[f"rejected: {reason}"] += 1
        told = str(outcome.get("notified") or "")
        if status == "failed" or outcome.get("error") or told.startswith("failed"):
            summary.failed += 1
            why = outcome.get("error") or reason
            summary.error(at, f"{outcome.get('alarm') or 'alarm'}: {why}")
            failed = True
    return failed


READERS = {
    "purge report": _purge,
    "purge event rejected": _rejected,
    "deploy report": _deploy,
    "responder report": _responder,
}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _iso(ms: int) -> str | None:
    if not ms:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


# ---- the table -----------------------------------------------------------------------------
COLUMNS = ("job", "family", "runs", "failed", "deleted", "kept", "skipped", "acted", "last error")


def table_lines(summaries: list[JobSummary], region: str) -> list[str]:
    rows = [COLUMNS] + [_row(s) for s in summaries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    out = [f"Region {region}:"]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        out.append("  " + "  ".join([*cells, row[-1]]).rstrip())
    for s in summaries:
        for reason, n in sorted(s.skip_reasons.items()):
            out.append(f"  {s.job}: skipped {n}x: {reason}")
    return out


def _row(s: JobSummary) -> tuple[str, ...]:
    deleted = str(s.deleted) + (f" (+{s.would_delete} dry run)" if s.would_delete else "")
    kept = str(s.kept)
    failed = f"{len(s.failed_runs)}/{len(s.runs)}" if s.runs else "-"
    error = s.last_error or ("no log group: never ran" if not s.logs_found else "")
    if s.family == "deployer":
        deleted, kept = "-", "-"
        skipped = f"{s.skipped} ({s.deployed} deployed)"
    else:
        skipped = str(s.skipped + s.rejected)
    if s.family == "purge":
        error = error or (f"{s.capped} capped" if s.capped else "")
    return (
        s.job,
        s.family,
        str(len(s.runs)),
        failed,
        deleted,
        kept,
        skipped,
        str(s.acted) if s.family == "responder" else "-",
        error,
    )


# ---- one region ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StackFunction:
    job: str  # the config item's name
    family: str
    function: str

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function}"


def stack_functions(config: Any, region: str) -> list[StackFunction]:
    """The functions the stack renders in `region`, with the config item each belongs to."""
    from ops.render import build_template
    from templates.dashboard import deployed_functions

    rendered = {f.name for f in deployed_functions(build_template(config, region))}
    found = []
    for section, item in config.items():
        name = config.function_name(section, item)
        if name in rendered:
            found.append(StackFunction(item.name, section.family, name))
    return found


def region_report(
    config: Any,
    region: str,
    client: Any,
    window: tuple[int, int],
    *,
    source: str = "auto",
    warn: Any = lambda _m: None,
) -> list[JobSummary]:
    """Every job of the stack in `region` over `window` (ms since the epoch, start and end).

    `client(service)` makes the region's clients. A stack missing in the region is a
    UsageError (exit 2): there is nothing to report on, and the region or stack is likely wrong.
    """
    from ops.deploy.plan import read_stack
    from ops.errors import UsageError
    from ops.operate.logsource import existing_groups, read_lines

    stack = config.stack.name
    if not read_stack(client("cloudformation"), stack, region).exists:
        raise UsageError(
            f"stack {stack} does not exist in {region}: check --region and the config's "
            f"[stack] name, or deploy it with ops apply --region {region}"
        )
    functions = stack_functions(config, region)
    logs = client("logs")
    groups = existing_groups(logs, [f.log_group for f in functions])
    summaries = {
        f.function: JobSummary(f.job, f.family, f.function, logs_found=f.log_group in groups)
        for f in functions
    }
    lines = read_lines(
        logs,
        groups,
        *window,
        insights_filter=INSIGHTS_FILTER,
        pattern=FILTER_PATTERN,
        source=source,
        warn=warn,
    )
    return summarise(summaries, lines)
