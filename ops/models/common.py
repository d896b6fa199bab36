"""Model pieces every function family shares: the stack settings and a function's sizing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ops.schema import check_bucket, check_one_of, check_range, setting

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
PYTHON_RUNTIMES = ("python3.11", "python3.12", "python3.13")


def check_stack_name(value: str) -> str | None:
    if not re.match(r"^[A-Za-z][A-Za-z0-9-]{0,127}$", value):
        return (
            "expected a CloudFormation stack name: a letter, then letters, digits and hyphens, "
            f"at most 128 characters, got {value!r}"
        )
    return None


MAX_TAGS = 49  # CloudFormation takes 50 stack tags; ops adds its own `ops:stack`
_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")  # what every tagging service accepts


def check_tags(value: dict[str, str]) -> str | None:
    """Tags CloudFormation and every tagged service accept, checked before any deploy."""
    if len(value) > MAX_TAGS:
        return f"at most {MAX_TAGS} tags (CloudFormation's 50, one is ops:stack), got {len(value)}"
    for key, text in value.items():
        if key.lower().startswith("aws:") or key == "ops:stack":
            return f"{key!r}: the aws: prefix and ops:stack are reserved"
        if not 1 <= len(key) <= 128 or not _TAG_TEXT.match(key):
            return f"{key!r}: a key is 1 to 128 letters, digits, spaces and _ . : / = + - @"
        if not isinstance(text, str) or not 1 <= len(text) <= 256 or not _TAG_TEXT.match(text):
            return f"{key!r}: a value is 1 to 256 letters, digits, spaces and _ . : / = + - @"
    return None


_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$"
)


def check_secret(value: str) -> str | None:
    """A Secrets Manager secret's name or ARN, never the secret itself (which this message
    does not repeat: a webhook URL is a credential)."""
    if "://" in value or value.startswith(("hooks.", "www.")):
        return (
            "expected the name of a Secrets Manager secret that holds the URL, not the URL itself "
            "(it would land in the template and the IAM policy): store it with "
            "`aws secretsmanager create-secret --name NAME --secret-string URL` and give NAME"
        )
    if _SECRET_NAME.match(value) or _SECRET_ARN.match(value):
        return None
    return f"expected a Secrets Manager secret name or ARN, got {value!r}"


_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$")


def check_kms_arn(value: str) -> str | None:
    return None if _KMS_ARN.match(value) else f"expected a KMS key ARN, got {value!r}"


def check_sns_arn(value: str) -> str | None:
    if not value.startswith("arn:") or ":sns:" not in value:
        return f"expected an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got {value!r}"
    return None


@dataclass(frozen=True)
class StackConfig:
    """`[stack]`: the CloudFormation stack and the defaults its functions take."""

    name: str = setting(check=check_stack_name, doc="CloudFormation stack name")
    runtime: str = setting(
        "python3.13", check=check_one_of(*PYTHON_RUNTIMES), doc="default function runtime"
    )
    tags: dict[str, str] = setting({}, check=check_tags, doc="tags for the stack and its resources")
    artifact_bucket: str | None = setting(
        None,
        check=check_bucket,
        doc="bucket for function code; default ops-artifacts-<account>-<region>",
    )
    log_retention_days: int = setting(
        30, check=check_one_of(*LOG_RETENTION_DAYS), doc="retention of function log groups"
    )
    alarm_topic: str | None = setting(
        None, check=check_sns_arn, doc="SNS topic ARN that the stack's alarms notify"
    )
    production: bool = setting(False, doc="marks a production stack (termination protection)")
    termination_protection: bool | None = setting(
        None, doc="turn on termination protection after creation (default: production)"
    )
    dashboard: bool = setting(
        True, doc="render a CloudWatch dashboard of the stack's functions and their metrics"
    )


def memory_setting(default: int) -> int:
    """`memory` in MB with Lambda's bounds; a family passes its own default."""
    doc = "memory in MB (more memory also means more CPU and network)"
    return setting(default, check=check_range(128, 10240), doc=doc)


WebhookFormat = Literal["slack", "teams", "pagerduty"]


def webhook_format_setting() -> WebhookFormat:
    """`webhook_format`: how a webhook is told (functions/runtime/chat.py)."""
    doc = "slack: Slack-compatible JSON; teams: an Adaptive Card; pagerduty: an Events v2 event"
    return setting("slack", doc=doc)


def kms_key_setting(of: str) -> str | None:
    """`kms_key`: the customer KMS key of `of`; the role may use it only through that service."""
    return setting(
        None, check=check_kms_arn, doc=f"the customer KMS key of {of} (none for AWS-managed keys)"
    )


def timeout_setting(default: int) -> int:
    """`timeout` in seconds with Lambda's bound of 900; a family passes its own default."""
    return setting(default, check=check_range(1, 900), doc="timeout in seconds")


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """Keys every function-backed table takes; families override the defaults they need."""

    memory: int = memory_setting(256)
    timeout: int = timeout_setting(300)
    runtime: str | None = setting(
        None, check=check_one_of(*PYTHON_RUNTIMES), doc="runtime (default: stack.runtime)"
    )
