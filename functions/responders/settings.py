"""A responder's settings as a typed view: the keys every action takes (`ResponderSettings`);
each action module (`functions/responders/actions/<action>.py`) declares its own view as
`Settings`, so an action still needs no edit outside its module.

`templates/jobs.py::responder_job` renders the same keys from the model into `$OPS_JOB`;
`tests/test_job_views.py` renders every example responder and reads it back through its view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.runtime.registry import kind_module
from functions.runtime.view import JobView, kind

ACTIONS = "functions.responders.actions"


@dataclass(frozen=True, kw_only=True)
class ResponderSettings(JobView):
    """What every responder reads (ops/models/responder.py::Responder, minus the function's)."""

    name: str
    action: str
    alarm_name: str = ""  # the alarm `[responder.alarm]` defines, named by the builder
    alarm: Mapping[str, Any] | None = None  # that alarm's definition (the function reads none)
    alarms: tuple[str, ...] | None = None  # or the existing alarms it watches (`name*` globs)
    dry_run: bool = False
    webhook_secret: str | None = None
    webhook_format: str = "slack"
    cooldown: int | None = None  # seconds

    @property
    def watched(self) -> tuple[str, ...]:
        """The alarm names (or `prefix*` patterns) this responder acts on."""
        return self.alarms or (self.alarm_name,)


def action_module(action: str) -> Any:
    """The module named after the action: `plan(job, alarm, clients, now, current_state, ...)`."""
    return kind_module(ACTIONS, action, "ACTION")


def settings_of(job: Mapping[str, Any]) -> ResponderSettings:
    """The responder's typed view: its action module's `Settings`, read from `$OPS_JOB`."""
    view: ResponderSettings = action_module(kind(job, "action")).Settings.from_job(job)
    return view
