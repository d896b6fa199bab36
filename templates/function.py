"""The function builder every family uses: a Lambda function with its own log group (with
retention), least-privilege role, EventInvokeConfig to the stack's dead-letter queue and an
Errors alarm. `add_function` returns what it added so triggers can refer to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import awacs.logs
import awacs.sqs
from awacs.aws import Statement
from troposphere import GetAtt, Ref, awslambda, cloudwatch, iam, logs

from ops.models.common import FunctionSettings
from ops.naming import function_name, logical_id
from templates.context import RenderContext
from templates.iam import allow, inline_policy, trust
from templates.jobs import OPS_JOB, ops_job_value
from templates.skips import FUNCTION_SKIPS, LOG_GROUP_SKIP, UNBOUNDED_SKIP, checkov_skips


@dataclass(frozen=True)
class FunctionSpec:
    """What a family asks of `add_function`."""

    family: str
    name: str
    settings: FunctionSettings
    handler: str  # e.g. "functions.purge.handler.handler"
    bundle: str  # the functions/ package zipped for it
    statements: Sequence[Statement]  # the action's own permissions, least privilege
    job: Mapping[str, Any] | None  # rendered into $OPS_JOB as sorted JSON (None: no OPS_JOB)
    description: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)  # extra variables (may be Refs)
    reserved_concurrency: int | None = None
    retries: int = 2  # asynchronous retries (0-2)
    max_event_age: int = 21600  # seconds an async event may wait (60-21600)
    architecture: str = "arm64"
    skips: tuple[tuple[str, str], ...] = FUNCTION_SKIPS  # checkov answers for the function


@dataclass(frozen=True)
class FunctionResources:
    """What `add_function` added, for triggers and alarms to refer to."""

    prefix: str  # logical id prefix, e.g. "PurgeTmpImages"
    name: str  # the function's name
    function: awslambda.Function
    role: iam.Role
    log_group: logs.LogGroup
    target: Any = None  # what triggers invoke when not the function itself (a stage alias)

    @property
    def arn(self) -> Any:
        """What triggers invoke: the function's ARN, or its stage alias's."""
        return self.target if self.target is not None else GetAtt(self.function, "Arn")


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
        AssumeRolePolicyDocument=trust("lambda.amazonaws.com"),
        Policies=[inline_policy(*base, *statements)],
        Tags=ctx.tags(),
    )


def _function(
    ctx: RenderContext,
    spec: FunctionSpec,
    prefix: str,
    name: str,
    role: iam.Role,
    log_group: logs.LogGroup,
) -> awslambda.Function:
    variables: dict[str, Any] = {}
    if spec.job is not None:
        variables[OPS_JOB] = ops_job_value(spec.job)
    variables.update(spec.environment)
    extra: dict[str, Any] = {}
    skips = spec.skips
    if spec.reserved_concurrency is not None:
        extra["ReservedConcurrentExecutions"] = spec.reserved_concurrency
    else:
        skips = (*skips, UNBOUNDED_SKIP)
    return awslambda.Function(
        f"{prefix}Function",
        FunctionName=name,
        Description=spec.description or f"ops {spec.family} {spec.name}",
        Runtime=spec.settings.runtime or ctx.config.stack.runtime,
        Architectures=[spec.architecture],
        Handler=spec.handler,
        Code=ctx.code_for(spec.bundle),
        MemorySize=spec.settings.memory,
        Timeout=spec.settings.timeout,
        Role=GetAtt(role, "Arn"),
        **({"Environment": awslambda.Environment(Variables=variables)} if variables else {}),
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


def add_alias(
    ctx: RenderContext, fn: FunctionResources, stage: str, logical: str
) -> awslambda.Alias:
    """A stage alias with its own retry and failure settings (asynchronous invocation settings
    are per qualifier: the function's own do not cover its aliases).

    Its target is `$LATEST` and stays so in every render: CloudFormation only calls UpdateAlias
    when the template's properties change, so the version the deployer moved it to survives
    every `ops apply`.
    """
    alias = ctx.template.add_resource(
        awslambda.Alias(
            logical, Name=stage, FunctionName=Ref(fn.function), FunctionVersion="$LATEST"
        )
    )
    ctx.template.add_resource(
        awslambda.EventInvokeConfig(
            f"{logical}InvokeConfig",
            DependsOn=[alias.title],
            FunctionName=Ref(fn.function),
            Qualifier=stage,
            MaximumRetryAttempts=2,
            MaximumEventAgeInSeconds=21600,
            DestinationConfig=awslambda.DestinationConfig(
                OnFailure=awslambda.OnFailure(Destination=GetAtt(ctx.dead_letter_queue(), "Arn"))
            ),
        )
    )
    return alias
