"""Lambda entry point for every responder: a thin adapter over `respond`.

Reads the job from `$OPS_JOB` and the marker table from `$OPS_MARKER_TABLE`, normalises every
alarm in the event (every SNS record, not the first), responds to each, logs one line per outcome
plus the report, and emits the counts as EMF metrics. If any action failed, or anything after a
finished action did (the webhook, the cool-down record), the invocation fails after reporting, so
Lambda retries it (the claims of failed changes were released; finished ones are duplicates the
second time) and it ends in the dead-letter destination.

Only the attributes and method of AWS's Python `LambdaContext` are used: the claim's lease is the
time the invocation has left (`get_remaining_time_in_millis()`), the account is read from
`invoked_function_arn` (STS only when there is no ARN).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.responders.alarm import parse_event
from functions.responders.markers import MarkerStore
from functions.responders.respond import Deps, Outcome, respond
from functions.responders.settings import ResponderSettings, settings_of
from functions.runtime import aws, log, metrics
from functions.runtime.settings import SettingsError
from functions.runtime.settings import job as load_job

MARKER_TABLE_ENV = "OPS_MARKER_TABLE"
DEFAULT_LEASE_SECONDS = 900  # Lambda's longest timeout: for a call without a context


class ResponderFailed(Exception):
    """Raised after the report is logged, so the invocation counts as failed and is retried."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    job = settings_of(load_job())
    log.bind(
        responder=job.name,
        action=job.action,
        request_id=getattr(context, "aws_request_id", None),
    )
    deps = default_deps(lease_seconds(context), account_of(context))
    report = run(job, event, deps, now=datetime.now(UTC))
    log.info("responder report", report=report)
    metrics.emit(_counts(report["outcomes"]), {"Responder": job.name})
    failed = [o for o in report["outcomes"] if _failed(o)]
    if failed:
        raise ResponderFailed(f"{len(failed)} alarm(s) failed: {_why(failed[0])}")
    return report


def lease_seconds(context: Any) -> int:
    """A claim lasts as long as this invocation can: a crashed one frees it when Lambda has
    killed it. Real contexts have no `timeout` attribute; they count down."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return DEFAULT_LEASE_SECONDS
    return max(1, math.ceil(int(remaining()) / 1000))


def account_of(context: Any, sts: Any = None) -> str:
    """The account this function runs in: from `invoked_function_arn`
    (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:ALIAS]), else from STS."""
    arn = getattr(context, "invoked_function_arn", None)
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) >= 6 and parts[2] == "lambda" and parts[4].isdigit():
        return parts[4]
    return str((sts or aws.client("sts")).get_caller_identity()["Account"])


def run(job: ResponderSettings, event: Any, deps: Deps, now: datetime) -> dict[str, Any]:
    """Every alarm in the event, each on its own: one failure never drops the others."""
    outcomes = []
    for item in parse_event(event):
        try:
            outcome = respond(job, item, deps, now)
        except Exception as exc:  # reported, then the handler fails the invocation
            outcome = Outcome(
                job.name,
                job.action,
                "failed",
                f"{type(exc).__name__}: {exc}",
                code="error",
                alarm=getattr(item, "name", None),
            )
        _log(outcome, getattr(item, "excerpt", None))
        outcomes.append(outcome.as_dict())
    return {
        "responder": job.name,
        "action": job.action,
        "dry_run": job.dry_run,
        "outcomes": outcomes,
    }


def default_deps(lease_seconds: int, account: str) -> Deps:
    table = os.environ.get(MARKER_TABLE_ENV)
    if not table:
        raise SettingsError(f"${MARKER_TABLE_ENV} is not set: the idempotency marker table")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    markers = MarkerStore(table, aws.client("dynamodb"), timedelta(seconds=lease_seconds))
    return Deps(clients=aws.client, markers=markers, region=region, account=account)


def _log(outcome: Outcome, excerpt: str | None) -> None:
    fields = outcome.as_dict()
    if outcome.status == "rejected":
        log.error(f"rejected: {outcome.reason}", received=excerpt, **fields)
    elif outcome.failed:
        log.error(f"{outcome.status}: {outcome.reason}", **fields)
    else:
        log.info(f"{outcome.status}: {outcome.reason}", **fields)


def _failed(outcome: dict[str, Any]) -> bool:
    told = str(outcome.get("notified") or "")
    return outcome["status"] == "failed" or bool(outcome.get("error")) or told.startswith("failed")


def _why(outcome: dict[str, Any]) -> str:
    if outcome["status"] == "failed":
        return str(outcome["reason"])
    after = outcome.get("error") or f"webhook {outcome.get('notified')}"
    return f"{outcome['status']} ({outcome['reason']}), then {after}"


def _counts(outcomes: list[dict[str, Any]]) -> dict[str, float]:
    seen = Counter(o["status"] for o in outcomes)
    return {
        "Acted": seen["acted"],
        "Skipped": seen["skipped"],
        "Rejected": seen["rejected"],
        "Failed": sum(1 for o in outcomes if _failed(o)),
        "DryRun": sum(1 for o in outcomes if o.get("code") == "dry-run"),
    }
