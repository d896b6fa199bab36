"""Pieces every family's template builder uses: a function with its log group, least-privilege
role, failure destination and Errors alarm; schedules and rules; invoke permissions; IAM
statements; partition-aware ARNs.

Builders return what they add (`add_function(...) -> FunctionResources`) so callers pass the
objects on to `Ref`/`GetAtt`. Nothing here talks to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import awacs.awslambda
import awacs.logs
import awacs.sqs
from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from awacs.sts import AssumeRole
from troposphere import (
    AWSHelperFn,
    AWSObject,
    GetAtt,
    Ref,
    Sub,
    Tags,
    Template,
    awslambda,
    cloudwatch,
    events,
    iam,
    logs,
    scheduler,
    sqs,
)

from ops.config import Config
from ops.models.common import FunctionSettings
from ops.naming import function_name, logical_id

POLICY_VERSION = "2012-10-17"
DEFAULT_ARTIFACT_BUCKET = "ops-artifacts-${AWS::AccountId}-${AWS::Region}"


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Sub:
    """`arn(... )` -> Sub("arn:${AWS::Partition}:SERVICE:${AWS::Region}:${AWS::AccountId}:RES")."""
    where = "${AWS::Region}" if region else ""
    who = "${AWS::AccountId}" if account else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:{who}:{resource}")


def s3_arn(resource: str) -> Sub:
    """`arn:${AWS::Partition}:s3:::RESOURCE` (S3 ARNs carry neither region nor account)."""
    return arn("s3", resource, region=False, account=False)


def secret_arn(secret: str) -> Any:
    """A secret's ARN; a name gets `-??????` for the random suffix Secrets Manager appends."""
    return secret if secret.startswith("arn:") else arn("secretsmanager", f"secret:{secret}-??????")


def checkov_skips(*skips: tuple[str, str]) -> dict[str, Any]:
    """A resource's `Metadata` that tells checkov which findings are answered, each with why."""
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in skips]}}


# Why every function and log group answers the same checkov findings (see docs/architecture.md).
FUNCTION_SKIPS = (
    (
        "CKV_AWS_116",
        "failed async invocations go to the stack's dead-letter queue through the function's "
        "EventInvokeConfig OnFailure destination, which checkov does not read",
    ),
    (
        "CKV_AWS_117",
        "calls only AWS APIs and reaches no private network; a VPC would add NAT or endpoints "
        "and cold-start time for nothing",
    ),
    (
        "CKV_AWS_173",
        "the environment holds only non-secret job settings (OPS_JOB); secrets are read from "
        "Secrets Manager at run time, and Lambda encrypts the environment at rest",
    ),
)
UNBOUNDED_SKIP = (
    "CKV_AWS_115",
    "event-driven with at-least-once input and idempotent work; a reservation would only take "
    "concurrency from the account's pool (jobs that must not overlap reserve 1)",
)
LOG_GROUP_SKIP = (
    "CKV_AWS_158",
    "CloudWatch Logs encrypts every log group at rest; these hold run reports and metrics, "
    "never secrets",
)

# The marker and rate-limit tables: state that expires by TTL within hours.
SHORT_LIVED_TABLE_SKIPS = (
    ("CKV_AWS_119", "encrypted at rest (SSE); it holds only short-lived state, no user data"),
    (
        "CKV_AWS_28",
        "its items expire by TTL within hours; a point-in-time restore would bring back stale "
        "claims, which is worse than none",
    ),
)


def allow(
    sid: str | None,
    actions: Sequence[Action],
    resources: Sequence[Any],
    condition: Condition | None = None,
) -> Statement:
    """An identity-policy statement: allow `actions` on exactly `resources` (under `condition`).

    A `"*"` resource only where the API has no resource-level permissions, and the caller says
    which API in a comment.
    """
    named = {"Sid": sid} if sid else {}
    conditioned = {"Condition": condition} if condition is not None else {}
    return Statement(
        **named, Effect=Allow, Action=list(actions), Resource=list(resources), **conditioned
    )


@dataclass(frozen=True)
class CodeLocation:
    """Where a bundle's zip lives: its S3 key is the hash of its content."""

    bundle: str
    key: str


@dataclass
class RenderContext:
    """What builders share while one template is rendered."""

    config: Config
    template: Template
    code: Mapping[str, CodeLocation]
    region: str | None = None  # the region rendered for, where a family needs to know it
    _dlq: sqs.Queue | None = None
    _dlq_senders: list[AWSHelperFn] = field(default_factory=list)
    _log_group_readers: list[tuple[AWSObject, str]] = field(default_factory=list)

    @property
    def artifact_bucket(self) -> str | Sub:
        return self.config.stack.artifact_bucket or Sub(DEFAULT_ARTIFACT_BUCKET)

    def code_for(self, bundle: str) -> awslambda.Code:
        return awslambda.Code(S3Bucket=self.artifact_bucket, S3Key=self.code[bundle].key)

    @property
    def alarm_actions(self) -> list[str]:
        return [self.config.stack.alarm_topic] if self.config.stack.alarm_topic else []

    def dead_letter_queue(self) -> sqs.Queue:
        """The stack's one failure destination, created on first use with its depth alarm."""
        if self._dlq is None:
            self._dlq = self.template.add_resource(
                sqs.Queue(
                    "DeadLetterQueue",
                    MessageRetentionPeriod=14 * 24 * 3600,
                    SqsManagedSseEnabled=True,
                    Tags=self.tags(),
                    Metadata=checkov_skips(
                        (
                            "CKV_AWS_27",
                            "encrypted at rest with SSE-SQS; a customer key would have to "
                            "grant every sender (EventBridge, Lambda, S3) in its key policy",
                        )
                    ),
                )
            )
            self.template.add_resource(_queue_alarm(self._dlq, self.alarm_actions))
        return self._dlq

    def allow_dead_letters_from(self, source_arn: AWSHelperFn) -> None:
        """Let an EventBridge rule send undeliverable events to the dead-letter queue."""
        self.dead_letter_queue()
        self._dlq_senders.append(source_arn)

    def after_log_group(self, resource: AWSObject, name: str) -> None:
        """Make `resource` wait for the log group called `name` if this stack creates it.

        Resolved in `finish()`: the group may belong to a family whose builder runs later.
        """
        self._log_group_readers.append((resource, name))

    def tags(self, **extra: str) -> Tags:
        return Tags(**{**self.config.stack.tags, **extra})

    def finish(self) -> None:
        """Resources that depend on everything the builders added."""
        own = self._own_log_groups()
        for resource, name in self._log_group_readers:
            if name in own:
                resource.DependsOn = [*resource.resource.get("DependsOn", []), own[name]]
        if self._dlq is not None and self._dlq_senders:
            self.template.add_resource(_queue_policy(self._dlq, self._dlq_senders))

    def _own_log_groups(self) -> dict[str, str]:
        """The template's `AWS::Logs::LogGroup`s: name -> logical id."""
        return {
            resource.properties["LogGroupName"]: str(logical)
            for logical, resource in self.template.resources.items()
            if isinstance(resource, logs.LogGroup)
            and isinstance(resource.properties.get("LogGroupName"), str)
        }


@dataclass(frozen=True)
class FunctionSpec:
    """What a family asks of `add_function`."""

    family: str
    name: str
    settings: FunctionSettings
    handler: str  # e.g. "functions.purge.handler.handler"
    bundle: str  # the functions/ package zipped for it
    statements: Sequence[Statement]  # the action's own permissions, least privilege
    job: Mapping[str, Any]  # rendered into $OPS_JOB as sorted JSON
    description: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)  # extra variables (may be Refs)
    reserved_concurrency: int | None = None
    retries: int = 2  # asynchronous retries (0-2)
    max_event_age: int = 21600  # seconds an async event may wait (60-21600)


@dataclass(frozen=True)
class FunctionResources:
    """What `add_function` added, for triggers and alarms to refer to."""

    prefix: str  # logical id prefix, e.g. "PurgeTmpImages"
    name: str  # the function's name
    function: awslambda.Function
    role: iam.Role
    log_group: logs.LogGroup

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.function, "Arn")


def add_function(ctx: RenderContext, spec: FunctionSpec) -> FunctionResources:
    """The function, its log group, role, event-invoke config and Errors alarm."""
    prefix = logical_id(spec.family, spec.name)
    name = function_name(ctx.config.stack.name, spec.family, spec.name)
    log_group = ctx.template.add_resource(
        logs.LogGroup(
            f"{prefix}LogGroup",
            LogGroupName=f"/aws/lambda/{name}",
            RetentionInDays=ctx.config.stack.log_retention_days,
            Tags=ctx.tags(),
            Metadata=checkov_skips(LOG_GROUP_SKIP),
        )
    )
    role = ctx.template.add_resource(_role(ctx, prefix, log_group, spec.statements))
    function = ctx.template.add_resource(_function(ctx, spec, prefix, name, role, log_group))
    ctx.template.add_resource(
        awslambda.EventInvokeConfig(
            f"{prefix}InvokeConfig",
            FunctionName=Ref(function),
            Qualifier="$LATEST",
            MaximumRetryAttempts=spec.retries,
            MaximumEventAgeInSeconds=spec.max_event_age,
            DestinationConfig=awslambda.DestinationConfig(
                OnFailure=awslambda.OnFailure(Destination=GetAtt(ctx.dead_letter_queue(), "Arn"))
            ),
        )
    )
    ctx.template.add_resource(_errors_alarm(prefix, name, function, ctx.alarm_actions))
    return FunctionResources(prefix, name, function, role, log_group)


def add_schedule(
    ctx: RenderContext,
    fn: FunctionResources,
    expression: str,
    max_event_age: int = 3600,
    timezone: str | None = None,
) -> events.Rule | scheduler.Schedule:
    """Invoke `fn` on `expression`: an EventBridge rule, or with a `timezone` an EventBridge
    Scheduler schedule (rules only know UTC). Neither retries: the next run is already due."""
    if timezone:
        return _scheduler_schedule(ctx, fn, expression, max_event_age, timezone)
    return add_rule(
        ctx,
        fn,
        "Schedule",
        description=f"Runs {fn.name} on {expression}",
        schedule=expression,
        retries=0,
        max_event_age=max_event_age,
    )


def add_rule(
    ctx: RenderContext,
    fn: FunctionResources,
    suffix: str,
    *,
    description: str,
    schedule: str | None = None,
    pattern: Mapping[str, Any] | None = None,
    retries: int,
    max_event_age: int,
) -> events.Rule:
    """An EventBridge rule (a `schedule` or an event `pattern`) that invokes `fn`: the rule
    `<prefix><suffix>`, its invoke permission, and undeliverable events to the stack's DLQ."""
    assert (schedule is None) != (pattern is None), "a rule has a schedule or a pattern"
    trigger: dict[str, Any] = (
        {"ScheduleExpression": schedule} if schedule is not None else {"EventPattern": pattern}
    )
    queue = ctx.dead_letter_queue()
    rule = ctx.template.add_resource(
        events.Rule(
            f"{fn.prefix}{suffix}",
            Description=description,
            **trigger,
            State="ENABLED",
            Targets=[
                events.Target(
                    Id="function",
                    Arn=fn.arn,
                    RetryPolicy=events.RetryPolicy(
                        MaximumRetryAttempts=retries, MaximumEventAgeInSeconds=max_event_age
                    ),
                    DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
                )
            ],
        )
    )
    ctx.allow_dead_letters_from(GetAtt(rule, "Arn"))
    allow_invoke(ctx, fn, "events.amazonaws.com", GetAtt(rule, "Arn"), suffix)
    return rule


def _scheduler_schedule(
    ctx: RenderContext, fn: FunctionResources, expression: str, max_event_age: int, timezone: str
) -> scheduler.Schedule:
    queue_arn = GetAtt(ctx.dead_letter_queue(), "Arn")
    role = ctx.template.add_resource(
        iam.Role(
            f"{fn.prefix}SchedulerRole",
            AssumeRolePolicyDocument=_trust("scheduler.amazonaws.com", source_account=True),
            Policies=[
                _policy(
                    allow(None, [awacs.awslambda.InvokeFunction], [fn.arn]),
                    # Scheduler sends undeliverable events to the DLQ with this role.
                    allow(None, [awacs.sqs.SendMessage], [queue_arn]),
                )
            ],
            Tags=ctx.tags(),
        )
    )
    return ctx.template.add_resource(
        scheduler.Schedule(
            f"{fn.prefix}Schedule",
            Description=f"Runs {fn.name} on {expression} ({timezone})",
            ScheduleExpression=expression,
            ScheduleExpressionTimezone=timezone,
            FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
            State="ENABLED",
            Target=scheduler.Target(
                Arn=fn.arn,
                RoleArn=GetAtt(role, "Arn"),
                RetryPolicy=scheduler.RetryPolicy(
                    MaximumRetryAttempts=0, MaximumEventAgeInSeconds=max_event_age
                ),
                DeadLetterConfig=scheduler.DeadLetterConfig(Arn=queue_arn),
            ),
        )
    )


def allow_invoke(
    ctx: RenderContext,
    fn: FunctionResources,
    principal: str,
    source_arn: AWSHelperFn | str,
    suffix: str,
    source_account: bool = False,
) -> awslambda.Permission:
    """One `Permission` per trigger, scoped to its `SourceArn`."""
    extra = {"SourceAccount": Ref("AWS::AccountId")} if source_account else {}
    return ctx.template.add_resource(
        awslambda.Permission(
            f"{fn.prefix}{suffix}Permission",
            Action="lambda:InvokeFunction",
            FunctionName=GetAtt(fn.function, "Arn"),
            Principal=principal,
            SourceArn=source_arn,
            **extra,
        )
    )


def _role(
    ctx: RenderContext, prefix: str, log_group: logs.LogGroup, statements: Sequence[Statement]
) -> iam.Role:
    base = [
        allow(
            "OwnLogGroup",
            [awacs.logs.CreateLogStream, awacs.logs.PutLogEvents],
            [GetAtt(log_group, "Arn")],
        ),
        allow("DeadLetters", [awacs.sqs.SendMessage], [GetAtt(ctx.dead_letter_queue(), "Arn")]),
    ]
    return iam.Role(
        f"{prefix}Role",
        AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"),
        Policies=[_policy(*base, *statements)],
        Tags=ctx.tags(),
    )


def _trust(service: str, source_account: bool = False) -> PolicyDocument:
    """Who may assume a role: one AWS service, from this account only when it says so."""
    condition = {}
    if source_account:
        condition["Condition"] = Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId")))
    statement = Statement(
        Effect=Allow, Action=[AssumeRole], Principal=Principal("Service", [service]), **condition
    )
    return PolicyDocument(Version=POLICY_VERSION, Statement=[statement])


def _policy(*statements: Statement) -> iam.Policy:
    return iam.Policy(
        PolicyName="least-privilege",
        PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=list(statements)),
    )


def _function(
    ctx: RenderContext,
    spec: FunctionSpec,
    prefix: str,
    name: str,
    role: iam.Role,
    log_group: logs.LogGroup,
) -> awslambda.Function:
    variables = {"OPS_JOB": json.dumps(spec.job, sort_keys=True, separators=(",", ":"))}
    variables.update(spec.environment)
    extra: dict[str, Any] = {}
    skips: tuple[tuple[str, str], ...] = FUNCTION_SKIPS
    if spec.reserved_concurrency is not None:
        extra["ReservedConcurrentExecutions"] = spec.reserved_concurrency
    else:
        skips = (*skips, UNBOUNDED_SKIP)
    return awslambda.Function(
        f"{prefix}Function",
        FunctionName=name,
        Description=spec.description or f"ops {spec.family} {spec.name}",
        Runtime=spec.settings.runtime or ctx.config.stack.runtime,
        Architectures=["arm64"],
        Handler=spec.handler,
        Code=ctx.code_for(spec.bundle),
        MemorySize=spec.settings.memory,
        Timeout=spec.settings.timeout,
        Role=GetAtt(role, "Arn"),
        Environment=awslambda.Environment(Variables=variables),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        Tags=ctx.tags(),
        Metadata=checkov_skips(*skips),
        **extra,
    )


def _errors_alarm(
    prefix: str, name: str, function: awslambda.Function, actions: list[str]
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        f"{prefix}ErrorsAlarm",
        AlarmDescription=f"{name} ended an invocation with an error",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[cloudwatch.MetricDimension(Name="FunctionName", Value=Ref(function))],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=actions,
        OKActions=actions,
    )


def _queue_alarm(queue: sqs.Queue, actions: list[str]) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        "DeadLetterQueueAlarm",
        AlarmDescription="Failed invocations are waiting in the dead-letter queue",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[cloudwatch.MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=actions,
    )


def _queue_policy(queue: sqs.Queue, senders: list[AWSHelperFn]) -> sqs.QueuePolicy:
    statement = Statement(
        Sid="EventBridgeDeadLetters",
        Effect=Allow,
        Principal=Principal("Service", ["events.amazonaws.com"]),
        Action=[awacs.sqs.SendMessage],
        Resource=[GetAtt(queue, "Arn")],
        Condition=_arn_equals_any(senders),
    )
    return sqs.QueuePolicy(
        "DeadLetterQueuePolicy",
        Queues=[Ref(queue)],
        PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=[statement]),
    )


def _arn_equals_any(arns: list[AWSHelperFn]) -> Condition:
    return Condition(ArnEquals("aws:SourceArn", arns))


# Keys that configure the function or its trigger, not the job the function runs.
NOT_JOB_KEYS = ("memory", "timeout", "runtime", "schedule", "timezone")


def job_settings(item: Any, drop: Sequence[str] = NOT_JOB_KEYS) -> dict[str, Any]:
    """A model's keys as plain JSON data for $OPS_JOB, minus the function's and trigger's own."""
    return {k: v for k, v in asdict(item).items() if k not in drop}
