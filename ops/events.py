"""Sample events for `ops event NAME`: what each family's trigger delivers, in AWS's format.

Each family's sample builder is a case of `sample_builder`, under its config section key. One
that lives with heavy code (the deployer's in `ops push`, the responders' and log processors'
beside their troposphere builders) is imported only when its family's sample is asked for, so
`ops invoke` of a purge job loads none of them. Builders put the placeholder account
`LOCAL_ACCOUNT` (000000000000) in; `sample_event` swaps in a real one when it is given,
everywhere in the event (inside CloudWatch Logs' compressed `awslogs.data` too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ops import awslogs as awslogs_payload
from ops.config import Config, Section
from ops.naming import LOCAL_ACCOUNT
from ops.schedule import scheduled_event

# The placeholder as a whole number only: log event ids are long runs of digits with zeros in.
_PLACEHOLDER = re.compile(rf"(?<!\d){LOCAL_ACCOUNT}(?!\d)")

Sample = Callable[[Config, Section, Any, str], dict[str, Any]]


def sample_builder(key: str) -> Sample:
    """The sample builder of config section `key`, imported only now (see above)."""
    match key:
        case "purge":
            return scheduled_event
        case "responder":  # SNS-wrapped alarm (EventBridge for `alarms`)
            from templates import responders

            return responders.sample_event
        case "deployer":  # S3 ObjectCreated:Put of deploy/<stage>/<function>.zip
            from ops import push

            return push.sample_event
        case "log_processor":  # awslogs.data: base64(gzip(JSON))
            from templates import log_processors

            return log_processors.sample_event
        case "function":  # its trigger's: S3, SQS, SNS or a schedule
            from ops import user_events

            return user_events.sample_event
    raise KeyError(f"no sample event for section {key!r}")


def sample_event(
    config: Config, name: str, region: str, account: str | None = None
) -> dict[str, Any]:
    section, item = config.find(name)
    event = sample_builder(section.key)(config, section, item, region)
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
