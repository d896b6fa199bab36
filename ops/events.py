"""Sample events for `ops event NAME`: what each family's trigger delivers, in AWS's format.

Families register a sample builder under their config section key in `SAMPLES`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ops import push
from ops.config import Config, Section
from ops.naming import LOCAL_ACCOUNT, logical_id
from templates import log_processors, responders

Sample = Callable[[Config, Section, Any, str], dict[str, Any]]


def scheduled_event(config: Config, section: Section, item: Any, region: str) -> dict[str, Any]:
    """EventBridge's "Scheduled Event", as a rule on a schedule delivers it."""
    rule = f"{config.stack.name}-{logical_id(section.family, item.name)}Schedule"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


SAMPLES: dict[str, Sample] = {
    "purge": scheduled_event,
    "responder": responders.sample_event,  # SNS-wrapped alarm (EventBridge for `alarms`)
    "deployer": push.sample_event,  # S3 ObjectCreated:Put of deploy/<stage>/<function>.zip
    "log_processor": log_processors.sample_event,  # awslogs.data: base64(gzip(JSON))
}


def sample_event(config: Config, name: str, region: str) -> dict[str, Any]:
    section, item = config.find(name)
    return SAMPLES[section.key](config, section, item, region)
