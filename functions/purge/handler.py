"""Lambda entry point for every purge job: a thin adapter over the target's `run` function.

The handler reads the job from `$OPS_JOB`, refuses any event but the job's own schedule or
continuation (`trigger.py`), builds the time budget from the context, runs the target with its
injected clients and the cutoff (from the clock, or a continuation's if earlier), hands a stopped
run on to a fresh invocation when the job says so (`on_timeout = "continue"`), then logs the
report and emits its counts as EMF metrics. A run that was capped or had failures ends in an
error after reporting, so the Errors alarm and the dead-letter destination see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from functions.purge import trigger
from functions.purge.continuation import hand_on
from functions.purge.report import PurgeReport, Rejected
from functions.purge.settings import PurgeSettings
from functions.runtime import log, metrics
from functions.runtime.budget import TimeBudget
from functions.runtime.registry import kind_module
from functions.runtime.settings import job as load_job
from functions.runtime.view import kind


class PurgeFailed(Exception):
    """Raised after the report is logged, so the invocation counts as failed."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    job = settings_of(load_job())
    return run_job(job, {} if event is None else event, context, now=datetime.now(UTC))


def settings_of(job: Mapping[str, Any]) -> PurgeSettings:
    """The job's typed view: its target's module's `Settings`, read from `$OPS_JOB`'s keys."""
    view: PurgeSettings = target_module(kind(job, "target")).Settings.from_job(job)
    return view


def target_module(target: str) -> Any:
    """The module named after the target: `run(job, *, now, budget, event) -> PurgeReport`."""
    try:
        return kind_module("functions.purge", target, "TARGET")
    except ValueError:
        raise ValueError(f"unknown purge target {target!r} in $OPS_JOB") from None


def run_job(
    job: PurgeSettings,
    event: Any,
    context: Any,
    *,
    now: datetime,
    lambda_client: Any = None,
    clients: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One invocation: check the event, run the target, hand on, report; raise if it went wrong.

    `now` is the clock; `clients` are passed to the target's `run` (its injected clients).
    An event this job does not run on is reported as "rejected", and nothing else happens.
    """
    target, name = job.target, job.name
    module = target_module(target)
    log.bind(job=name, target=target, request_id=getattr(context, "aws_request_id", None))
    try:
        # Before any client exists: a foreign event or a bad continuation touches nothing.
        begin = trigger.start(event, job, now)
        budget = TimeBudget.from_context(context)
        # The target measures `older_than` back from this, so its cutoff is `begin.cutoff`.
        measured_from = begin.cutoff + job.age
        report: PurgeReport = module.run(
            job, now=measured_from, budget=budget, event=begin.event, **(clients or {})
        )
    except Rejected as exc:  # the target's cursor check runs before its first call
        return rejected(name, str(target), str(exc))
    # The unqualified name: the role may invoke exactly this function, not an alias of it.
    function_name = str(getattr(context, "function_name", ""))
    hand_on(
        report,
        job,
        begin.resumed,
        function_name=function_name,
        cutoff=begin.cutoff,
        client=lambda_client,
    )
    result: dict[str, Any] = report.as_dict()
    result["hop"] = begin.resumed.hop if begin.resumed else 0
    log.info("purge report", report=result)
    metrics.emit(report.metrics(), {"Job": name, "Target": str(target)})
    if report.status in ("capped", "failed") or report.failed_count:
        raise PurgeFailed(f"purge {name} {report.status}: {report.reason}")
    return result


def rejected(name: str, target: str, reason: str) -> dict[str, Any]:
    """The result of an invocation that did nothing because its event was refused.

    Not an error: a stray event retried or dead-lettered would only be refused again. The log
    line and the `Rejected` metric say it happened.
    """
    result: dict[str, Any] = {"job": name, "target": target, "status": "rejected"}
    result.update({"reason": reason, "examined": 0, "deleted": 0, "hop": None})
    log.warning("purge event rejected", reason=reason)
    metrics.emit({"Rejected": 1}, {"Job": name, "Target": target})
    return result
