"""Lambda entry point for every log processor: decode the subscription payload once, then act.

The handler reads the processor from `$OPS_JOB`, refuses an event that is not a CloudWatch Logs
subscription event before doing anything (it raises: a misrouted trigger should fire the Errors
alarm), rejects a payload that does not decode (`status: rejected`, the reason, a
`MalformedPayloads` count; never raised, since retrying the same bytes cannot succeed), and counts
a line that does not parse. A failing sink raises, so the asynchronous retry and the dead-letter
queue keep the batch. Importing this module imports no boto3: clients are built on first use.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from functions.logs import pattern_alert, report_metrics
from functions.logs.decode import (
    LogBatch,
    MalformedPayload,
    awslogs_data,
    decode,
)
from functions.logs.settings import (
    LogProcessorSettings,
    PatternAlertSettings,
    ReportMetricsSettings,
    settings_of,
)
from functions.runtime import log, metrics
from functions.runtime.budget import TimeBudget
from functions.runtime.settings import SettingsError
from functions.runtime.settings import job as load_job

RATE_TABLE_ENV = "OPS_RATE_TABLE"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = settings_of(load_job())
    log.bind(
        processor=job.name,
        action=job.action,
        request_id=getattr(context, "aws_request_id", None),
    )
    data = awslogs_data(event)  # not a subscription event: raises, nothing done (misrouted)
    try:
        batch = decode(data)
    except MalformedPayload as exc:  # retrying the same bytes can never succeed
        return _rejected(job, "malformed", str(exc), data[:80])
    if batch.is_control:
        return {"status": "control-message", "log_group": batch.log_group}
    return process(batch, job, budget=TimeBudget.from_context(context, 5.0))


def _rejected(job: LogProcessorSettings, code: str, reason: str, start: str) -> dict[str, Any]:
    """An event that can never be processed: logged with its reason and counted, not raised
    (a retry of the same bytes would fail the same way)."""
    log.error(f"rejected: {reason}", code=code, payload_start=start)
    _processor_metrics(job, {"MalformedPayloads": 1})
    return {"status": "rejected", "code": code, "reason": reason}


def process(
    batch: LogBatch,
    job: LogProcessorSettings,
    *,
    budget: TimeBudget,
    out: TextIO | None = None,
    clients: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run the processor's action on a decoded batch; clients and clock may be injected."""
    if not job.selected(batch.log_group):
        return {"status": "not-selected", "log_group": batch.log_group}
    if isinstance(job, ReportMetricsSettings):
        return report_metrics_action(batch, job, out or sys.stdout)
    if isinstance(job, PatternAlertSettings):
        return pattern_alert_action(batch, job, budget, clients or {}, now or datetime.now(UTC))
    raise ValueError(f"unknown log processor action {job.action!r} in $OPS_JOB")


def report_metrics_action(
    batch: LogBatch, job: ReportMetricsSettings, out: TextIO
) -> dict[str, Any]:
    report = report_metrics.parse_batch(batch)
    stamp = report_metrics.batch_time(batch, int(time.time() * 1000))
    lines = report_metrics.write_metrics(report, job.namespace, stamp, out)
    result = {"status": "done", "log_group": batch.log_group, "emf_lines": lines}
    result.update(report.as_dict())
    if report.malformed:
        log.warning("malformed lines", count=report.malformed, samples=report.samples)
    _processor_metrics(job, {"LogEvents": report.events, "MalformedLines": report.malformed}, out)
    return result


def pattern_alert_action(
    batch: LogBatch,
    job: PatternAlertSettings,
    budget: TimeBudget,
    clients: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    region = os.environ.get("AWS_REGION", "")
    report = pattern_alert.alert_batch(
        batch,
        job,
        sink=_sink(job, clients),
        limiter=_limiter(job, clients),
        now=now,
        budget=budget,
        region=region,
    )
    result = {"status": "done", "log_group": batch.log_group, **report.as_dict()}
    log.info("pattern alert", **result)
    counts = {"Matched": report.matched, "AlertsSent": int(report.sent)}
    _processor_metrics(job, {**counts, "Suppressed": report.suppressed})
    return result


def _client(clients: dict[str, Any], service: str) -> Any:
    """An injected client, else the container's cached one (boto3 is imported here, lazily)."""
    if service not in clients:
        from functions.runtime.aws import client

        clients[service] = client(service)
    return clients[service]


def _sink(job: PatternAlertSettings, clients: dict[str, Any]) -> Any:
    from functions.logs.sinks import SnsSink, WebhookSink

    if job.topic:
        return SnsSink(_client(clients, "sns"), job.topic)
    fmt = job.webhook_format or "slack"
    return WebhookSink(_client(clients, "secretsmanager"), str(job.webhook_secret), format=fmt)


def _limiter(job: PatternAlertSettings, clients: dict[str, Any]) -> Any:
    from functions.logs.limiter import WindowLimiter

    table = os.environ.get(RATE_TABLE_ENV)
    if not table:
        raise SettingsError(f"${RATE_TABLE_ENV} is not set: deploy with `ops apply`")
    return WindowLimiter(
        _client(clients, "dynamodb"),
        table,
        job.name,
        job.rate_limit,
        job.max_messages,
    )


def _processor_metrics(
    job: LogProcessorSettings, values: dict[str, float], out: TextIO | None = None
) -> None:
    metrics.emit(values, {"Processor": job.name}, stream=out)
