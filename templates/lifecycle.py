"""A lifecycle purge job's part of the stack: no function, only the counting of what S3 deleted.

S3 itself deletes (the rule lives in the bucket's lifecycle configuration, which `ops apply`
merges: `ops.deploy.lifecycle`). With EventBridge notifications on, S3 sends an `Object Deleted`
event whose `detail.reason` is `Lifecycle Expiration` for each object it expires. An EventBridge
rule sends those of the job's bucket and prefix to a log group of the job's, as one small JSON
line (`{"Job": ..., "Target": "s3", "DeletionType": ...}`), and a metric filter counts the lines
into `ops` `Deleted` with the dimensions a Lambda job emits it under (Job, Target): the job
reports on the same graphs and alarms as a Lambda job, without a function.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, Sub, events, logs

from ops.models.purge import S3Purge
from ops.naming import logical_id
from templates.context import RenderContext
from templates.iam import POLICY_VERSION
from templates.skips import LOG_GROUP_SKIP, checkov_skips

NAMESPACE = "ops"  # functions/runtime/metrics.NAMESPACE: templates never import functions/
POLICY_ID = "LifecycleEventsLogPolicy"


def log_group_name(stack: str, job: str) -> str:
    return f"/ops/{stack}/lifecycle/{job}"


def event_pattern(job: S3Purge) -> dict[str, object]:
    """S3's `Object Deleted` events for the job's bucket (and prefix) that its lifecycle
    rule caused: `reason` tells a lifecycle expiration from a DeleteObject call."""
    detail: dict[str, object] = {
        "bucket": {"name": [job.bucket]},
        "reason": ["Lifecycle Expiration"],
    }
    if job.prefix:
        detail["object"] = {"key": [{"prefix": job.prefix}]}
    return {"source": ["aws.s3"], "detail-type": ["Object Deleted"], "detail": detail}


def add_lifecycle_job(ctx: RenderContext, job: S3Purge) -> events.Rule:
    """The job's log group, the rule that writes one line per expiration into it, and the
    metric filter that counts the lines; returns the rule."""
    stack = ctx.config.stack.name
    prefix = logical_id("purge", job.name)
    group = ctx.template.add_resource(
        logs.LogGroup(
            f"{prefix}ExpirationsLogGroup",
            LogGroupName=log_group_name(stack, job.name),
            RetentionInDays=ctx.config.stack.log_retention_days,
            Tags=ctx.tags(),
            Metadata=checkov_skips(LOG_GROUP_SKIP),
        )
    )
    _allow_events_to_write(ctx, stack)
    line = {"Job": job.name, "Target": "s3", "DeletionType": "<type>"}
    # A log group target takes {"timestamp", "message"}, the message a string: the line is JSON
    # inside it, which the metric filter's JSON pattern then reads.
    message = json.dumps(json.dumps(line, separators=(",", ":")))
    template = '{"timestamp": <time>, "message": ' + message + "}"
    queue = ctx.dead_letter_queue()  # a line EventBridge could not write lands there
    rule = ctx.template.add_resource(
        events.Rule(
            f"{prefix}ExpirationsRule",
            Description=f"Counts what the lifecycle rule of purge job {job.name} deletes",
            EventPattern=event_pattern(job),
            State="ENABLED",
            Targets=[
                events.Target(
                    Id="ExpirationsLog",
                    Arn=GetAtt(group, "Arn"),
                    RetryPolicy=events.RetryPolicy(
                        MaximumRetryAttempts=185, MaximumEventAgeInSeconds=86400
                    ),
                    DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(queue, "Arn")),
                    InputTransformer=events.InputTransformer(
                        InputPathsMap={"time": "$.time", "type": "$.detail.deletion-type"},
                        InputTemplate=template,
                    ),
                )
            ],
        )
    )
    ctx.allow_dead_letters_from(GetAtt(rule, "Arn"))
    ctx.template.add_resource(
        logs.MetricFilter(
            f"{prefix}ExpirationsMetric",
            LogGroupName=group.ref(),
            FilterPattern=f'{{ $.Job = "{job.name}" }}',
            MetricTransformations=[
                logs.MetricTransformation(
                    MetricNamespace=NAMESPACE,
                    MetricName="Deleted",
                    MetricValue="1",
                    Unit="Count",
                    Dimensions=[
                        logs.Dimension(Key="Job", Value="$.Job"),
                        logs.Dimension(Key="Target", Value="$.Target"),
                    ],
                )
            ],
        )
    )
    return rule


def _allow_events_to_write(ctx: RenderContext, stack: str) -> None:
    """One resource policy for every lifecycle log group of the stack (an account has ten
    per region): EventBridge may write into /ops/<stack>/lifecycle/*, nothing else."""
    if POLICY_ID in ctx.template.resources:
        return
    groups = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    document = {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "EventBridgeWritesLifecycleExpirations",
                "Effect": "Allow",
                "Principal": {"Service": ["delivery.logs.amazonaws.com", "events.amazonaws.com"]},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{groups}{log_group_name(stack, '*')}:*",
            }
        ],
    }
    ctx.template.add_resource(
        logs.ResourcePolicy(
            POLICY_ID,
            PolicyName=f"{stack}-lifecycle-events",
            PolicyDocument=Sub(json.dumps(document, sort_keys=True)),
        )
    )
