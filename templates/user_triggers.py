"""What invokes a `[[function]]`: its schedule, S3 uploads, an SQS queue, an SNS topic.

S3: on a bucket the stack creates (`s3.create = true` on any function naming it) a bucket
notification per function, whose `Permission` exists before the bucket; on any other bucket an
EventBridge "Object Created" rule (the bucket must send events to EventBridge). SQS: an event
source mapping with partial batch responses (`ReportBatchItemFailures`). SNS: a subscription and
its permission. Each trigger invokes `fn.arn`, the live stage alias when the function has stages.
"""

from __future__ import annotations

from typing import Any

import awacs.s3
import awacs.sqs
from awacs.aws import PolicyDocument, Statement
from troposphere import AWSObject, Ref, awslambda, s3, sns

from ops.models.user_function import S3Trigger, UserFunction
from ops.naming import logical_id
from templates.buckets import deny_insecure_transport, private_bucket
from templates.common import (
    POLICY_VERSION,
    FunctionResources,
    RenderContext,
    add_rule,
    add_schedule,
    allow,
    allow_invoke,
    checkov_skips,
    s3_arn,
)

NONCURRENT_DAYS = 30  # how long an overwritten upload stays restorable
ASYNC_EVENT_AGE = 21600  # S3 and SNS events may wait this long (Lambda's maximum)


def trigger_statements(fn: UserFunction) -> list[Statement]:
    """What the function's role needs for its triggers: the uploads it is told about, the
    queue it polls (Lambda polls with the function's role)."""
    statements = []
    if fn.s3 is not None:
        objects = s3_arn(f"{fn.s3.bucket}/{fn.s3.prefix}*{fn.s3.suffix}")
        statements.append(allow("ReadUploads", [awacs.s3.GetObject], [objects]))
    if fn.sqs is not None:
        polling = [awacs.sqs.ReceiveMessage, awacs.sqs.DeleteMessage, awacs.sqs.GetQueueAttributes]
        statements.append(allow("PollQueue", polling, [fn.sqs.queue_arn]))
    return statements


def add_triggers(ctx: RenderContext, fn: FunctionResources, item: UserFunction) -> None:
    if item.schedule:
        add_schedule(ctx, fn, item.schedule, timezone=item.timezone)
    if item.s3 is not None:
        if owned_buckets(ctx).get(item.s3.bucket):
            _add_notification(ctx, fn, item.s3)
        else:
            _add_object_created_rule(ctx, fn, item.s3)
    if item.sqs is not None:
        ctx.template.add_resource(
            awslambda.EventSourceMapping(
                f"{fn.prefix}QueueMapping",
                EventSourceArn=item.sqs.queue_arn,
                FunctionName=fn.arn,
                BatchSize=item.sqs.batch_size,
                MaximumBatchingWindowInSeconds=item.sqs.max_batching_window,
                FunctionResponseTypes=["ReportBatchItemFailures"],
                Enabled=True,
            )
        )
    if item.sns is not None:
        allow_invoke(ctx, fn, "sns.amazonaws.com", item.sns.topic_arn, "Topic")
        ctx.template.add_resource(
            sns.SubscriptionResource(
                f"{fn.prefix}TopicSubscription",
                Protocol="lambda",
                Endpoint=fn.arn,
                TopicArn=item.sns.topic_arn,
            )
        )


def owned_buckets(ctx: RenderContext) -> dict[str, bool]:
    """Buckets named by a function's `s3` trigger: True for those this stack creates."""
    triggers = [f.s3 for f in ctx.config.function if f.s3 is not None]
    return {t.bucket: any(o.create for o in triggers if o.bucket == t.bucket) for t in triggers}


def _add_object_created_rule(ctx: RenderContext, fn: FunctionResources, trigger: S3Trigger) -> None:
    detail: dict[str, Any] = {"bucket": {"name": [trigger.bucket]}}
    key = _key_filter(trigger)
    if key:
        detail["object"] = {"key": [key]}
    add_rule(
        ctx,
        fn,
        "Uploads",
        description=f"Runs {fn.name} on uploads to s3://{trigger.bucket}/{trigger.prefix}",
        pattern={"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail},
        retries=2,
        max_event_age=ASYNC_EVENT_AGE,
    )


def _key_filter(trigger: S3Trigger) -> dict[str, str] | None:
    """EventBridge content filtering on the key: prefix, suffix, or both as a wildcard."""
    if trigger.prefix and trigger.suffix:
        return {"wildcard": f"{trigger.prefix}*{trigger.suffix}"}
    if trigger.prefix:
        return {"prefix": trigger.prefix}
    if trigger.suffix:
        return {"suffix": trigger.suffix}
    return None


def _add_notification(ctx: RenderContext, fn: FunctionResources, trigger: S3Trigger) -> None:
    """A notification on the stack's own bucket; S3 checks it may invoke when it saves it."""
    permission = allow_invoke(
        ctx, fn, "s3.amazonaws.com", s3_arn(trigger.bucket), "Uploads", source_account=True
    )
    rules = [
        s3.Rules(Name=name, Value=value)
        for name, value in (("prefix", trigger.prefix), ("suffix", trigger.suffix))
        if value
    ]
    notification = s3.LambdaConfigurations(
        Event="s3:ObjectCreated:*",
        Function=fn.arn,
        **({"Filter": s3.Filter(S3Key=s3.S3Key(Rules=rules))} if rules else {}),
    )
    bucket = _bucket(ctx, trigger.bucket)
    config = bucket.properties["NotificationConfiguration"]
    config.properties["LambdaConfigurations"].append(notification)
    bucket.DependsOn = [*bucket.resource.get("DependsOn", []), permission.title]


def _bucket(ctx: RenderContext, name: str) -> AWSObject:
    """The stack's bucket called `name`, added with its TLS-only policy on first use."""
    logical = logical_id("bucket", name.replace(".", "-"))
    if logical in ctx.template.resources:
        return ctx.template.resources[logical]
    bucket = ctx.template.add_resource(
        s3.Bucket(
            logical,
            BucketName=name,
            **private_bucket("old-versions", NONCURRENT_DAYS),
            NotificationConfiguration=s3.NotificationConfiguration(LambdaConfigurations=[]),
            Tags=ctx.tags(),
            Metadata=checkov_skips(
                (
                    "CKV_AWS_18",
                    "an upload bucket read by its functions; record access with CloudTrail S3 "
                    "data events where it is needed, which server access logs would duplicate",
                )
            ),
        )
    )
    ctx.template.add_resource(_tls_only(logical, name, bucket))
    return bucket


def _tls_only(logical: str, name: str, bucket: s3.Bucket) -> s3.BucketPolicy:
    return s3.BucketPolicy(
        f"{logical}Policy",
        Bucket=Ref(bucket),
        PolicyDocument=PolicyDocument(
            Version=POLICY_VERSION, Statement=[deny_insecure_transport(name)]
        ),
    )
