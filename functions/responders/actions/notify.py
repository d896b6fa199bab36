"""`notify`: post the alarm to the webhook. It tells, whatever the alarm's state is now: a human
wants to hear about an ALARM even if it is already OK again (the message says so)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.responders import webhook
from functions.responders.alarm import AlarmEvent
from functions.responders.plan import Clients, Skip, Step
from functions.responders.settings import ResponderSettings

ACTION = "notify"  # the responder action this module performs (functions.runtime.registry)


@dataclass(frozen=True, kw_only=True)
class NotifySettings(ResponderSettings):
    """A notify responder's `$OPS_JOB` (ops/models/responder.py::Notify)."""

    webhook_secret: str  # required here: telling is all it does
    webhook_timeout: int = 5  # seconds


Settings = NotifySettings  # the responder's view (functions/responders/settings.py)


def plan(
    job: NotifySettings,
    alarm: AlarmEvent,
    clients: Clients,
    now: datetime,
    current_state: str,
    markers: Any = None,  # the marker store; this action keeps nothing in it
) -> Step | Skip:
    def apply() -> None:
        webhook.deliver(
            job,
            clients("secretsmanager"),
            alarm,
            current_state=current_state,
            timeout=job.webhook_timeout,
        )

    return Step(f"webhook:{job.webhook_secret}", "notification", None, alarm.state, apply)
