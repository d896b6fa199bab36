"""Lambda entry point for every responder: a thin adapter over `respond`.

Reads the job from `$OPS_JOB` and the marker table from `$OPS_MARKER_TABLE`, normalises every
alarm in the event (every SNS record, not the first), responds to each, logs one line per outcome
plus the report, and emits the counts as EMF metrics. If any action failed, the invocation fails
after reporting, so Lambda retries it (the claims of failed changes were released; finished ones
are duplicates the second time) and it ends in the dead-letter destination.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.responders.alarm import parse_event
from functions.responders.markers import MarkerStore
from functions.responders.respond import Deps, Outcome, respond
from functions.runtime import aws, log, metrics
from functions.runtime.settings import SettingsError
from functions.runtime.settings import job as load_job

MARKER_TABLE_ENV = "OPS_MARKER_TABLE"


class ResponderFailed(Exception):
    """Raised after the report is logged, so the invocation counts as failed and is retried."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    job = load_job()
    log.bind(
        responder=job.get("name"),
        action=job.get("action"),
        request_id=getattr(context, "aws_request_id", None),
    )
    deps = default_deps(lease_seconds=int(getattr(context, "timeout", 0) or 900))
    report = run(job, event, deps, now=datetime.now(UTC))
    log.info("responder report", report=report)
    metrics.emit(_counts(report["outcomes"]), {"Responder": str(job.get("name"))})
    failed = [o for o in report["outcomes"] if o["status"] == "failed"]
    if failed:
        raise ResponderFailed(f"{len(failed)} alarm(s) failed: {failed[0]['reason']}")
    return report


def run(job: dict[str, Any], event: Any, deps: Deps, now: datetime) -> dict[str, Any]:
    """Every alarm in the event, each on its own: one failure never drops the others."""
    outcomes = []
    for item in parse_event(event):
        try:
            outcome = respond(job, item, deps, now)
        except Exception as exc:  # reported, then the handler fails the invocation
            outcome = Outcome(
                job["name"],
                job["action"],
                "failed",
                f"{type(exc).__name__}: {exc}",
                code="error",
                alarm=getattr(item, "name", None),
            )
        _log(outcome, getattr(item, "excerpt", None))
        outcomes.append(outcome.as_dict())
    return {
        "responder": job["name"],
        "action": job["action"],
        "dry_run": job["dry_run"],
        "outcomes": outcomes,
    }


def default_deps(lease_seconds: int) -> Deps:
    table = os.environ.get(MARKER_TABLE_ENV)
    if not table:
        raise SettingsError(f"${MARKER_TABLE_ENV} is not set: the idempotency marker table")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    markers = MarkerStore(table, aws.client("dynamodb"), timedelta(seconds=lease_seconds))
    return Deps(clients=aws.client, markers=markers, region=region)


def _log(outcome: Outcome, excerpt: str | None) -> None:
    fields = outcome.as_dict()
    if outcome.status == "rejected":
        log.error(f"rejected: {outcome.reason}", received=excerpt, **fields)
    elif outcome.status == "failed" or (outcome.notified and outcome.notified != "sent"):
        log.error(f"{outcome.status}: {outcome.reason}", **fields)
    else:
        log.info(f"{outcome.status}: {outcome.reason}", **fields)


def _counts(outcomes: list[dict[str, Any]]) -> dict[str, float]:
    seen = Counter(o["status"] for o in outcomes)
    return {
        "Acted": seen["acted"],
        "Skipped": seen["skipped"],
        "Rejected": seen["rejected"],
        "Failed": seen["failed"],
        "DryRun": sum(1 for o in outcomes if o.get("code") == "dry-run"),
    }
