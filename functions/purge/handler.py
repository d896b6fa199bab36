"""Lambda entry point for every purge job: a thin adapter over the target's `run` function.

The handler reads the job from `$OPS_JOB`, builds the time budget from the context, runs the
target with its injected clients and the current time, hands a stopped run on to a fresh
invocation when the job says so (`on_timeout = "continue"`), then logs the report and emits its
counts as EMF metrics. A run that was capped or had failures ends in an error after reporting,
so the Errors alarm and the dead-letter destination see it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from functions.purge.continuation import Continuation, hand_on
from functions.purge.report import PurgeReport
from functions.runtime import log, metrics
from functions.runtime.budget import TimeBudget
from functions.runtime.settings import job as load_job

# target -> module under functions.purge with `run(job, *, now, budget, event) -> PurgeReport`.
TARGETS = {
    "s3": "s3",
    "lambda-versions": "lambda_versions",
    "ebs-snapshots": "ebs_snapshots",
    "log-streams": "log_streams",
}


class PurgeFailed(Exception):
    """Raised after the report is logged, so the invocation counts as failed."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_job(load_job(), event or {}, context, now=datetime.now(UTC))


def run_job(
    job: Mapping[str, Any],
    event: Mapping[str, Any],
    context: Any,
    *,
    now: datetime,
    lambda_client: Any = None,
) -> dict[str, Any]:
    """One invocation: validate, run the target, hand on, report; raise if it went wrong."""
    target = job.get("target")
    if target not in TARGETS:
        raise ValueError(f"unknown purge target {target!r} in $OPS_JOB")
    name = str(job.get("name"))
    log.bind(job=name, target=target, request_id=getattr(context, "aws_request_id", None))
    # A malformed continuation is refused here, before any client exists.
    resumed = Continuation.from_event(event, name)
    now = resumed.now if resumed else now
    module = importlib.import_module(f"functions.purge.{TARGETS[target]}")
    budget = TimeBudget.from_context(context)
    report: PurgeReport = module.run(job, now=now, budget=budget, event=event)
    # The unqualified name: the role may invoke exactly this function, not an alias of it.
    function_name = str(getattr(context, "function_name", ""))
    hand_on(report, job, resumed, function_name=function_name, now=now, client=lambda_client)
    result: dict[str, Any] = report.as_dict()
    result["hop"] = resumed.hop if resumed else 0
    log.info("purge report", report=result)
    metrics.emit(report.metrics(), {"Job": name, "Target": str(target)})
    if report.status in ("capped", "failed") or report.failed_count:
        raise PurgeFailed(f"purge {name} {report.status}: {report.reason}")
    return result
