"""Sample events for `ops event NAME`: what each family's trigger delivers, in AWS's format.

Families register a sample builder under their config section key in `SAMPLES`. Builders put
the placeholder account `LOCAL_ACCOUNT` (000000000000) in; `sample_event` swaps in a real one
when it is given, everywhere in the event (inside CloudWatch Logs' compressed `awslogs.data` too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ops import awslogs as awslogs_payload
from ops import push, user_events
from ops.config import Config, Section
from ops.naming import LOCAL_ACCOUNT
from ops.schedule import scheduled_event
from templates import log_processors, responders

# The placeholder as a whole number only: log event ids are long runs of digits with zeros in.
_PLACEHOLDER = re.compile(rf"(?<!\d){LOCAL_ACCOUNT}(?!\d)")

Sample = Callable[[Config, Section, Any, str], dict[str, Any]]


SAMPLES: dict[str, Sample] = {
    "purge": scheduled_event,
    "responder": responders.sample_event,  # SNS-wrapped alarm (EventBridge for `alarms`)
    "deployer": push.sample_event,  # S3 ObjectCreated:Put of deploy/<stage>/<function>.zip
    "log_processor": log_processors.sample_event,  # awslogs.data: base64(gzip(JSON))
    "function": user_events.sample_event,  # its trigger's: S3, SQS, SNS or a schedule
}


def sample_event(
    config: Config, name: str, region: str, account: str | None = None
) -> dict[str, Any]:
    section, item = config.find(name)
    event = SAMPLES[section.key](config, section, item, region)
    if account and account != LOCAL_ACCOUNT:
        event = with_account(event, account)
    return event


def with_account(value: Any, account: str) -> Any:
    """`value` with the placeholder account replaced by `account` in every string."""
    if isinstance(value, dict):
        if set(value) == {"awslogs"} and isinstance(value["awslogs"], dict):
            return {"awslogs": _awslogs_with_account(value["awslogs"], account)}
        return {k: with_account(v, account) for k, v in value.items()}
    if isinstance(value, list):
        return [with_account(v, account) for v in value]
    if isinstance(value, str):
        return _PLACEHOLDER.sub(account, value)
    return value


def _awslogs_with_account(awslogs: dict[str, Any], account: str) -> dict[str, Any]:
    message = awslogs_payload.decode(awslogs["data"])
    return {**awslogs, "data": awslogs_payload.encode(with_account(message, account))}
