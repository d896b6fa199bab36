"""`[[responder]]`: an alarm fires, a function takes one bounded, well-understood action.

The `action` key selects the model. Every responder watches either an alarm it defines here
(`alarm = {...}`, delivered through an encrypted SNS topic) or existing alarms by name or name
prefix (`alarms = ["prod-*"]`, delivered through an EventBridge rule). EC2 actions have a native
CloudWatch alarm action, so they render no function at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ops.models.common import (
    FunctionSettings,
    StackConfig,
    WebhookFormat,
    check_secret,
    kms_key_setting,
    memory_setting,
    timeout_setting,
    webhook_format_setting,
)
from ops.schema import Duration, ProblemSink, check_name, check_range, setting

# Config's short comparison -> CloudWatch's ComparisonOperator.
COMPARISONS = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}
RDS_STORAGE_COOLDOWN = 6 * 3600  # RDS refuses another storage change for 6 h after one
NATIVE_ACTIONS = ("ec2-recover", "ec2-reboot", "ec2-stop", "ec2-terminate")

_ALARM_NAME = re.compile(r"^[^*]{1,255}\*?$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_DB_INSTANCE = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$")
_FUNCTION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INSTANCE = re.compile(r"^i-[0-9a-f]{8,17}$")


def _matching(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: str) -> str | None:
        return None if pattern.match(value) else f"expected {what}, got {value!r}"

    return check


def check_period(value: int) -> str | None:
    if value in (10, 30) or (value >= 60 and value % 60 == 0):
        return None
    return f"expected 10, 30 or a multiple of 60 seconds, got {value!r}"


def check_alarm_names(value: tuple[str, ...]) -> str | None:
    if not value:
        return "expected at least one alarm name or prefix"
    bad = [v for v in value if not _ALARM_NAME.match(v) or v == "*"]
    if bad:
        return (
            f"expected alarm names, or prefixes ending in a single '*' (like 'prod-*'), got {bad}"
        )
    return None


@dataclass(frozen=True, kw_only=True)
class AlarmDefinition:
    """A metric alarm this responder defines; its alarm and OK actions go to the responder."""

    namespace: str = setting(doc="metric namespace, e.g. AWS/DynamoDB")
    metric: str = setting(doc="metric name")
    dimensions: dict[str, str] = setting({}, doc="metric dimensions")
    statistic: Literal["Sum", "Average", "Minimum", "Maximum", "SampleCount"] = setting(
        "Average", doc="statistic over each period"
    )
    period: int = setting(60, check=check_period, doc="seconds per datapoint")
    evaluation_periods: int = setting(1, check=check_range(1, 1440), doc="datapoints evaluated")
    datapoints_to_alarm: int | None = setting(
        None, check=check_range(1, 1440), doc="breaching datapoints that fire it (M of N)"
    )
    threshold: float = setting(doc="the threshold")
    comparison: Literal[">=", ">", "<", "<="] = setting(doc="how the value meets the threshold")
    treat_missing_data: Literal["missing", "notBreaching", "breaching", "ignore"] = setting(
        "missing", doc="how missing datapoints count"
    )
    description: str = setting("", doc="alarm description")


@dataclass(frozen=True, kw_only=True)
class Responder(FunctionSettings):
    """Keys every responder takes."""

    name: str = setting(check=check_name, doc="unique among responders")
    action: str = setting(doc="what to do when the alarm fires")
    alarm: AlarmDefinition | None = setting(None, doc="an alarm defined here")
    alarms: tuple[str, ...] | None = setting(
        None, check=check_alarm_names, doc="existing alarms by name or 'prefix*'"
    )
    dry_run: bool = setting(False, doc="recommend only: log and notify what it would do")
    webhook_secret: str | None = setting(
        None,
        check=check_secret,
        doc="secret holding a Slack-compatible webhook URL to tell what was done",
    )
    webhook_format: WebhookFormat = webhook_format_setting()
    kms_key: str | None = kms_key_setting("its webhook secret")
    cooldown: Duration | None = setting(None, doc="least time between two actions")
    memory: int = memory_setting(128)
    timeout: int = timeout_setting(60)

    @property
    def native(self) -> bool:
        """Rendered as a CloudWatch alarm action, with no function of its own."""
        return self.action in NATIVE_ACTIONS

    def bound_problems(self) -> list[tuple[str, str]]:
        """(key, what was expected) for bounds that contradict each other."""
        return []

    def watched_resource(self) -> tuple[str, str, str] | None:
        """(namespace, dimension, value) naming the resource the action touches, which an
        alarm defined here must watch; None when the action touches none."""
        return None


@dataclass(frozen=True, kw_only=True)
class DynamoDBScale(Responder):
    """Raise a table's provisioned read or write capacity on ALARM; lower it towards a floor."""

    action: Literal["dynamodb-scale"] = setting(doc="what to do")
    table: str = setting(check=_matching(_TABLE, "a DynamoDB table name"), doc="the table")
    capacity: Literal["read", "write"] = setting("read", doc="which capacity to change")
    factor: float = setting(1.5, check=check_range(1.1, 4), doc="multiply (or divide) by this")
    ceiling: int = setting(check=check_range(1, 400000), doc="never raise above this")
    floor: int = setting(1, check=check_range(1, 400000), doc="never lower below this")
    direction: Literal["up", "down"] = setting(
        "up", doc="'up': ALARM raises; 'down': a low-usage ALARM lowers"
    )
    lower_on_ok: bool = setting(False, doc="with direction 'up': lower again on OK")

    def bound_problems(self) -> list[tuple[str, str]]:
        if self.floor > self.ceiling:
            return [("floor", f"expected at most ceiling ({self.ceiling}), got {self.floor}")]
        return []

    def watched_resource(self) -> tuple[str, str, str] | None:
        return ("AWS/DynamoDB", "TableName", self.table)


@dataclass(frozen=True, kw_only=True)
class RdsExtendStorage(Responder):
    """Grow an RDS instance's allocated storage by a step, up to a ceiling."""

    action: Literal["rds-extend-storage"] = setting(doc="what to do")
    db_instance: str = setting(
        check=_matching(_DB_INSTANCE, "an RDS DB instance identifier"), doc="the instance"
    )
    step_percent: int = setting(10, check=check_range(10, 100), doc="grow by this % (RDS: >=10)")
    ceiling_gb: int = setting(check=check_range(20, 65536), doc="never grow above this")
    cooldown: Duration | None = setting(
        Duration(RDS_STORAGE_COOLDOWN), doc="least time between two extensions (>= 6h)"
    )

    def bound_problems(self) -> list[tuple[str, str]]:
        if (self.cooldown or 0) < RDS_STORAGE_COOLDOWN:
            return [("cooldown", "expected at least 6h: RDS allows one storage change per 6 h")]
        return []

    def watched_resource(self) -> tuple[str, str, str] | None:
        return ("AWS/RDS", "DBInstanceIdentifier", self.db_instance)


@dataclass(frozen=True, kw_only=True)
class LambdaConcurrency(Responder):
    """Raise a function's reserved concurrency on ALARM; restore the baseline on OK."""

    action: Literal["lambda-concurrency"] = setting(doc="what to do")
    function: str = setting(check=_matching(_FUNCTION, "a Lambda function name"), doc="function")
    baseline: int = setting(check=check_range(1, 100000), doc="its normal reserved concurrency")
    ceiling: int = setting(check=check_range(1, 100000), doc="never raise above this")
    factor: float = setting(2.0, check=check_range(1.1, 10), doc="multiply by this on ALARM")
    restore_on_ok: bool = setting(True, doc="set the baseline back on OK")

    def bound_problems(self) -> list[tuple[str, str]]:
        if self.baseline > self.ceiling:
            return [("baseline", f"expected at most ceiling ({self.ceiling})")]
        return []

    def watched_resource(self) -> tuple[str, str, str] | None:
        return ("AWS/Lambda", "FunctionName", self.function)


@dataclass(frozen=True, kw_only=True)
class Notify(Responder):
    """Post the alarm, readable, to a Slack-compatible webhook."""

    action: Literal["notify"] = setting(doc="what to do")
    webhook_secret: str | None = setting(
        check=check_secret,
        doc="secret holding the webhook URL (required)",
    )
    webhook_timeout: int = setting(5, check=check_range(1, 30), doc="seconds to wait for it")


@dataclass(frozen=True, kw_only=True)
class Ec2Native(Responder):
    """Recover, reboot, stop or terminate an instance with CloudWatch's own alarm action."""

    action: Literal["ec2-recover", "ec2-reboot", "ec2-stop", "ec2-terminate"] = setting(
        doc="the native EC2 alarm action"
    )
    instance: str = setting(check=_matching(_INSTANCE, "an EC2 instance id"), doc="instance")

    @property
    def automate_action(self) -> str:
        """CloudWatch's EC2 alarm action (`arn:<partition>:automate:<region>:ec2:<this>`)."""
        return self.action.removeprefix("ec2-")

    def watched_resource(self) -> tuple[str, str, str] | None:
        return ("AWS/EC2", "InstanceId", self.instance)


RESPONDER_ACTIONS: dict[str, type[Responder]] = {
    "dynamodb-scale": DynamoDBScale,
    "rds-extend-storage": RdsExtendStorage,
    "lambda-concurrency": LambdaConcurrency,
    "notify": Notify,
    **{action: Ec2Native for action in NATIVE_ACTIONS},
}


def cross_check(responders: tuple[Responder, ...], stack: StackConfig, sink: ProblemSink) -> None:
    """What one key cannot say alone: where alarms come from, bounds, the resource alarmed on."""
    for index, item in enumerate(responders):
        path = f"responder[{index}]"
        _check_source(item, path, sink)
        for key, message in item.bound_problems():
            sink.problem(f"{path}.{key}", message)
        if item.alarm is not None:
            for key, message in _alarm_problems(item, item.alarm):
                sink.problem(f"{path}.alarm.{key}", message)


def _check_source(item: Responder, path: str, sink: ProblemSink) -> None:
    if (item.alarm is None) == (item.alarms is None):
        sink.problem(path, "expected exactly one of `alarm` (define one) or `alarms` (existing)")
    elif item.native and item.alarm is None:
        sink.problem(f"{path}.alarms", f"{item.action} is a native alarm action: define `alarm`")
    if item.webhook_format != "slack" and not item.webhook_secret:
        sink.problem(f"{path}.webhook_format", "only a webhook_secret is posted in it: set one")
    if item.kms_key and not item.webhook_secret:
        sink.problem(f"{path}.kms_key", "only a webhook_secret is decrypted with it: set one")
    if item.native and (item.dry_run or item.webhook_secret or item.cooldown):
        sink.problem(
            path,
            f"{item.action} is a native alarm action: it takes no dry_run, "
            "webhook_secret or cooldown (CloudWatch performs it)",
        )


def _alarm_problems(item: Responder, alarm: AlarmDefinition) -> list[tuple[str, str]]:
    found = []
    if alarm.period * alarm.evaluation_periods > 86400:
        found.append(("evaluation_periods", "period x evaluation_periods must be at most 1 day"))
    if (alarm.datapoints_to_alarm or 0) > alarm.evaluation_periods:
        found.append(("datapoints_to_alarm", "expected at most evaluation_periods"))
    named = item.watched_resource()
    if named and alarm.namespace == named[0] and alarm.dimensions.get(named[1]) != named[2]:
        found.append(
            (
                "dimensions",
                f"expected {named[1]} = {named[2]!r}: the alarm must watch the "
                "resource the responder acts on",
            )
        )
    if item.native and alarm.namespace != "AWS/EC2":
        found.append(("namespace", f"{item.action} acts on an instance: expected AWS/EC2"))
    if item.action == "ec2-recover" and alarm.metric != "StatusCheckFailed_System":
        found.append(("metric", "ec2-recover works only on StatusCheckFailed_System"))
    return found
