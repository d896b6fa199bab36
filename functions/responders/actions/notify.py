"""`notify`: post the alarm to the webhook. It tells, whatever the alarm's state is now: a human
wants to hear about an ALARM even if it is already OK again (the message says so)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.responders import webhook
from functions.responders.alarm import AlarmEvent
from functions.responders.plan import Clients, Skip, Step

ACTION = "notify"  # the responder action this module performs (functions.runtime.registry)


def plan(
    job: dict[str, Any],
    alarm: AlarmEvent,
    clients: Clients,
    now: datetime,
    current_state: str,
    markers: Any = None,  # the marker store; this action keeps nothing in it
) -> Step | Skip:
    def apply() -> None:
        webhook.deliver(job, clients("secretsmanager"), alarm, current_state=current_state)

    return Step(f"webhook:{job['webhook_secret']}", "notification", None, alarm.state, apply)
