"""What invokes a function: EventBridge rules (a schedule or an event pattern), EventBridge
Scheduler schedules (for a time zone), and the one `Permission` per trigger, scoped to its
`SourceArn`. Undeliverable events go to the stack's dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awacs.awslambda
import awacs.sqs
from troposphere import AWSHelperFn, GetAtt, Ref, awslambda, events, iam, scheduler

from templates.context import RenderContext
from templates.function import FunctionResources
from templates.iam import allow, inline_policy, trust


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
            AssumeRolePolicyDocument=trust("scheduler.amazonaws.com", source_account=True),
            Policies=[
                inline_policy(
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
            FunctionName=fn.arn,
            Principal=principal,
            SourceArn=source_arn,
            **extra,
        )
    )
