"""The responder's decisions for one alarm state change, in order, each one reported.

1. malformed -> rejected (logged, nothing else happens);
2. not an alarm this responder watches, another account or region, INSUFFICIENT_DATA -> skipped;
3. claim the state change (alarm ARN + change time) -> a duplicate is skipped;
4. one DescribeAlarms: the alarm must still be in the state the event reports;
5. the action's planner reads the resource -> a step (before -> after) or a skip with reason;
6. the resource's cool-down; dry run -> "would" and stop;
7. apply, remember the action for the cool-down, tell the webhook, mark the change done.

A failure before the action happened releases the claim (so Lambda's retry acts) and is re-raised
by the handler after the report is logged. Once the action happened, the claim is kept whatever
fails next (the cool-down record, the secret, the webhook): that is reported on the outcome
(`error`, `notified`) and fails the invocation, and the retry is a duplicate, so the action is never
repeated. Everything AWS is injected: clients, the marker store, the clock.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from functions.responders import webhook
from functions.responders.alarm import AlarmEvent, Malformed
from functions.responders.markers import MarkerStore
from functions.responders.plan import ActionRefused, Clients, Skip, Step
from functions.responders.settings import ResponderSettings, action_module

STATE_INDEPENDENT = {"notify"}  # tells about the change even when the alarm has moved on
QUIET_SKIPS = {
    "duplicate",
    "not-watched",
    "other-account",
    "other-region",
    "insufficient-data",
    "in-progress",
}


@dataclass
class Outcome:
    """What happened to one state change: the line the log and the return value carry."""

    responder: str
    action: str
    status: str  # acted, skipped, rejected, failed
    reason: str
    code: str = ""  # machine-readable reason: duplicate, at-ceiling, cooldown, dry-run...
    alarm: str | None = None
    state: str | None = None
    changed_at: str | None = None
    source: str | None = None
    resource: str | None = None
    change: str | None = None
    before: Any = None
    after: Any = None
    dry_run: bool = False
    notified: str | None = None  # webhook result for actions that also notify
    error: str | None = None  # what failed after the action happened (the action stands)

    @property
    def failed(self) -> bool:
        """The invocation must fail (and be retried, or dead-lettered) for this outcome."""
        told = self.notified or ""
        return self.status == "failed" or bool(self.error) or told.startswith("failed")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Deps:
    clients: Clients
    markers: MarkerStore
    region: str  # where this function runs, and where its resources are
    account: str  # the account this function runs in: alarms of others are not acted on


def respond(
    job: ResponderSettings, item: AlarmEvent | Malformed, deps: Deps, now: datetime
) -> Outcome:
    """Handle one alarm state change; never raises for a decision, only for a failed action."""
    base = Outcome(job.name, job.action, "skipped", "", dry_run=job.dry_run)
    if isinstance(item, Malformed):
        return _with(base, "rejected", "malformed", f"malformed alarm message: {item.reason}")
    alarm = item
    base = _with(
        base,
        "skipped",
        "",
        "",
        alarm=alarm.name,
        state=alarm.state,
        changed_at=alarm.changed_at.isoformat(),
        source=alarm.source,
    )
    early = _early_skip(job, alarm, deps.region, deps.account)
    if early:
        return _skip(base, early)
    claim = deps.markers.claim(_marker_key(job, alarm), now)
    if not claim.claimed:
        code = "duplicate" if claim.status == "done" else "in-progress"
        return _skip(base, Skip(code, f"state change already {claim.status.replace('-', ' ')}"))
    try:
        outcome = _decide_and_act(job, alarm, deps, now, base)
    except Exception:
        deps.markers.release(_marker_key(job, alarm))
        raise
    try:
        deps.markers.complete(_marker_key(job, alarm), f"{outcome.status}: {outcome.reason}")
    except Exception as exc:  # never release here: the action may have happened
        outcome.error = f"claim not marked done: {type(exc).__name__}: {exc}"
    return outcome


def _decide_and_act(
    job: ResponderSettings, alarm: AlarmEvent, deps: Deps, now: datetime, base: Outcome
) -> Outcome:
    current = current_state(deps.clients("cloudwatch"), alarm.name)
    if current != alarm.state and job.action not in STATE_INDEPENDENT:
        return _tell(job, alarm, deps, current, _skip(base, _moved_on(alarm.state, current)))
    planner = _planner(job.action)
    result = planner(job, alarm, deps.clients, now, current or "gone", markers=deps.markers)
    if isinstance(result, Skip):
        return _tell(job, alarm, deps, current, _skip(base, result))
    outcome = _with(
        base,
        "skipped",
        "",
        "",
        resource=result.resource,
        change=result.change,
        before=result.before,
        after=result.after,
    )
    cooling = _cooldown_skip(job, deps.markers, result, now)
    if cooling:
        return _tell(job, alarm, deps, current, _skip(outcome, cooling))
    if job.dry_run:
        return _tell(
            job,
            alarm,
            deps,
            current,
            _with(outcome, "skipped", "dry-run", f"dry run: would set {result.describe()}"),
        )
    return _apply(job, alarm, deps, now, current, result, outcome)


def _apply(
    job: ResponderSettings,
    alarm: AlarmEvent,
    deps: Deps,
    now: datetime,
    current: str | None,
    step: Step,
    outcome: Outcome,
) -> Outcome:
    try:
        step.apply()
    except ActionRefused as exc:
        return _tell(
            job, alarm, deps, current, _skip(outcome, Skip("refused", f"AWS refused: {exc}"))
        )
    # The action happened: nothing below may raise, or the claim would be released and the
    # retry would act a second time (100 -> 150 -> 225).
    done = _with(outcome, "acted", "acted", f"set {step.describe()}")
    if job.action == "notify":
        done = _with(done, "acted", "acted", f"posted the {alarm.state} to the webhook")
    if job.cooldown:
        try:
            deps.markers.record_action(step.resource, now, timedelta(seconds=job.cooldown))
        except Exception as exc:
            done.error = f"cool-down not recorded: {type(exc).__name__}: {exc}"
    if job.action == "notify":
        return done
    return _tell(job, alarm, deps, current, done)


def current_state(cloudwatch: Any, name: str) -> str | None:
    """The alarm's state now (metric or composite), None when it no longer exists."""
    found = cloudwatch.describe_alarms(
        AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    alarms = [*found.get("MetricAlarms", []), *found.get("CompositeAlarms", [])]
    return str(alarms[0]["StateValue"]) if alarms else None


def watches(job: ResponderSettings, alarm_name: str) -> bool:
    """The alarm is one this responder was configured for (a misrouted event is not acted on)."""
    patterns = job.watched
    return any(
        fnmatch.fnmatchcase(alarm_name, p) if p.endswith("*") else alarm_name == p for p in patterns
    )


def _early_skip(
    job: ResponderSettings, alarm: AlarmEvent, region: str, account: str
) -> Skip | None:
    if not watches(job, alarm.name):
        return Skip("not-watched", f"alarm {alarm.name!r} is not one this responder watches")
    if alarm.account != account:
        return Skip(
            "other-account", f"alarm of account {alarm.account}; this responder acts in {account}"
        )
    if alarm.region != region:
        return Skip("other-region", f"alarm in {alarm.region}; this responder acts in {region}")
    if alarm.state == "INSUFFICIENT_DATA":
        return Skip("insufficient-data", "INSUFFICIENT_DATA: nothing to act on")
    return None


def _moved_on(state: str, current: str | None) -> Skip:
    if current is None:
        return Skip("alarm-gone", "the alarm no longer exists")
    return Skip("state-changed", f"not in {state} any more (now {current})")


def _cooldown_skip(
    job: ResponderSettings, markers: MarkerStore, step: Step, now: datetime
) -> Skip | None:
    if not job.cooldown:
        return None
    last = markers.last_action(step.resource)
    if last is None or now - last >= timedelta(seconds=job.cooldown):
        return None
    left = timedelta(seconds=job.cooldown) - (now - last)
    return Skip("cooldown", f"last changed {last.isoformat()}; cool-down ends in {_minutes(left)}")


def _tell(
    job: ResponderSettings, alarm: AlarmEvent, deps: Deps, current: str | None, outcome: Outcome
) -> Outcome:
    """Tell the webhook (if the job has one) what was done or why not; a failure to tell (the
    secret, the URL, the answer) is reported, and the handler fails the invocation after the
    marker says the work is done. Never raises: the action may already have happened."""
    if not job.webhook_secret or job.action == "notify" or outcome.code in QUIET_SKIPS:
        return outcome
    try:
        text = f"{outcome.status}: {outcome.reason}"
        webhook.deliver(job, deps.clients("secretsmanager"), alarm, text, current)
    except webhook.WebhookError as exc:
        outcome.notified = f"failed: {exc}"
    except Exception as exc:  # Secrets Manager, a secret that is not JSON...
        outcome.notified = f"failed: {type(exc).__name__}: {exc}"
    else:
        outcome.notified = "sent"
    return outcome


def _planner(action: str) -> Callable[..., Step | Skip]:
    """`plan` of the module named after the action (functions.responders.actions.<action>)."""
    planner: Callable[..., Step | Skip] = action_module(action).plan
    return planner


def _marker_key(job: ResponderSettings, alarm: AlarmEvent) -> str:
    return f"{job.name}#{alarm.key}"


def _skip(outcome: Outcome, skip: Skip) -> Outcome:
    return _with(outcome, "skipped", skip.code, skip.reason)


def _with(outcome: Outcome, status: str, code: str, reason: str, **changes: Any) -> Outcome:
    fields = {**asdict(outcome), **changes, "status": status, "code": code, "reason": reason}
    return Outcome(**fields)


def _minutes(delta: timedelta) -> str:
    minutes = math.ceil(delta.total_seconds() / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"
