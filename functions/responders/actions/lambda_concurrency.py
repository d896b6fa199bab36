"""`lambda-concurrency`: raise a function's reserved concurrency on ALARM, restore it on OK.

A function without reserved concurrency draws from the account's unreserved pool; giving it a
reservation would cap it, so that case is skipped, not "raised" — on ALARM and on OK alike. Before
its first raise the responder records what the reservation was (in the marker table), and OK
restores that value; `baseline` is only the fallback for a function the responder did not raise
(or whose record has expired). Lambda refuses a reservation that would leave the account fewer
than 100 unreserved executions: reported as a skip with its message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from functions.responders.alarm import AlarmEvent
from functions.responders.markers import MarkerStore
from functions.responders.plan import ActionRefused, Clients, Skip, Step, raised, wrong_resource
from functions.responders.settings import ResponderSettings
from functions.runtime import log

ACTION = (
    "lambda-concurrency"  # the responder action this module performs (functions.runtime.registry)
)


@dataclass(frozen=True, kw_only=True)
class LambdaConcurrencySettings(ResponderSettings):
    """A lambda-concurrency responder's `$OPS_JOB` (ops/models/responder.py::LambdaConcurrency)."""

    function: str
    baseline: int
    ceiling: int
    factor: float
    restore_on_ok: bool


Settings = LambdaConcurrencySettings  # the responder's view (functions/responders/settings.py)

NOT_RESERVED = (
    "the function has no reserved concurrency: it uses the unreserved pool, and a "
    "reservation would cap it"
)


def plan(
    job: LambdaConcurrencySettings,
    alarm: AlarmEvent,
    clients: Clients,
    now: datetime,
    current_state: str,
    markers: MarkerStore | None = None,
) -> Step | Skip:
    name = job.function
    skip = wrong_resource(alarm.dimension("FunctionName"), "FunctionName", name)
    if skip:
        return skip
    lam = clients("lambda")
    resource = f"lambda:function/{name}"
    current = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    prior = markers.prior(resource) if markers and alarm.state == "OK" else None
    target = _target(job, alarm.state, current, prior)
    if isinstance(target, Skip):
        return target
    restoring = alarm.state == "OK"

    def apply() -> None:
        if markers and not restoring:
            markers.remember_prior(resource, int(current or 0), now)  # before the change
        try:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=target)
        except (
            lam.exceptions.InvalidParameterValueException,
            lam.exceptions.LimitExceededException,
        ) as exc:
            raise ActionRefused(exc.response["Error"].get("Message", str(exc))) from exc
        if markers and restoring and prior is not None:
            try:
                markers.forget_prior(resource)
            except Exception as exc:  # restored already: a stale record restores the same value
                log.warning("prior value not cleared", resource=resource, error=repr(exc))

    return Step(resource, "reserved concurrency", current, target, apply)


def _target(
    job: LambdaConcurrencySettings, state: str, current: int | None, prior: int | None
) -> int | Skip:
    if current is None:
        return Skip("not-applicable", NOT_RESERVED)
    if state == "OK":
        if not job.restore_on_ok:
            return Skip("no-action", "OK: restore_on_ok is off")
        restore, what = (
            (prior, "the value before the raise")
            if prior is not None
            else (job.baseline, "the baseline")
        )
        if current == restore:
            return Skip("at-baseline", f"already at {what} {current}")
        return restore
    if current >= job.ceiling:
        return Skip("at-ceiling", f"{current} is at or above the ceiling {job.ceiling}")
    return raised(current, job.factor, job.ceiling)
