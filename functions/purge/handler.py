"""Lambda entry point for every purge job: a thin adapter over the target's `run` function.

The handler reads the job from `$OPS_JOB`, builds the time budget from the context, runs the
target with its injected clients and the current time, then logs the report and emits its counts
as EMF metrics. A run that was capped or had failures ends in an error after reporting, so the
Errors alarm and the dead-letter destination see it.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from functions.runtime import log, metrics
from functions.runtime.budget import TimeBudget
from functions.runtime.settings import job as load_job

# target -> module under functions.purge with `run(job, *, now, budget, event) -> PurgeReport`.
TARGETS = {"s3": "s3"}


class PurgeFailed(Exception):
    """Raised after the report is logged, so the invocation counts as failed."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = load_job()
    target = job.get("target")
    if target not in TARGETS:
        raise ValueError(f"unknown purge target {target!r} in $OPS_JOB")
    log.bind(
        job=job.get("name"), target=target, request_id=getattr(context, "aws_request_id", None)
    )
    module = importlib.import_module(f"functions.purge.{TARGETS[target]}")
    report = module.run(
        job, now=datetime.now(UTC), budget=TimeBudget.from_context(context), event=event or {}
    )
    result: dict[str, Any] = report.as_dict()
    log.info("purge report", report=result)
    metrics.emit(report.metrics(), {"Job": str(job.get("name")), "Target": str(target)})
    if report.status in ("capped", "failed"):
        raise PurgeFailed(f"purge {job.get('name')} {report.status}: {report.reason}")
    return result
