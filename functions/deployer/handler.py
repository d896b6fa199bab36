"""Lambda entry point of the deployer: a thin adapter over `deploy.deploy_event`.

It reads the job from `$OPS_JOB` and the region from `$AWS_REGION`, deploys every record with the
region's clients, logs and returns the report, emits its counts as EMF metrics, and ends in an
error when a record failed in a way a retry may fix, so Lambda retries the event (the records
that went through are skipped as duplicates) and the Errors alarm and dead-letter queue see it.
Rejected records (bad key, unknown stage, corrupt zip...) are reported, not retried.
"""

from __future__ import annotations

import os
from typing import Any

from functions.deployer.api import DeployApi
from functions.deployer.deploy import Settings, deploy_event
from functions.runtime import aws, log, metrics
from functions.runtime.budget import TimeBudget
from functions.runtime.settings import job as load_job


class DeployFailed(Exception):
    """Raised after the report is logged, so Lambda retries the event."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    region = os.environ["AWS_REGION"]
    settings = Settings.from_job(load_job(), region)
    log.bind(function=settings.own_function, region=region, request_id=context.aws_request_id)
    api = DeployApi(aws.client("lambda"), aws.client("s3"))
    report = deploy_event(event, settings, api, TimeBudget.from_context(context))
    result = report.as_dict()
    log.info("deploy report", report=result)
    metrics.emit(report.metrics(), {"Deployer": settings.own_function, "Region": region})
    if report.failed:
        raise DeployFailed(f"{report.count('failed')} record(s) failed: see the deploy report")
    return result
