"""Log processors: a function subscribed to log groups, or a native metric filter.

For `lambda-report-metrics` and `pattern-alert`: the function (reserved concurrency, dead-letter
destination, Errors alarm), one `SubscriptionFilter` and one invoke `Permission` per named log
group, and for prefixes ending in `*` the account's subscription filter policy. For
`metric-filter`: a `MetricFilter` per log group and an optional alarm, and no function at all.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from typing import Any

import awacs.dynamodb
import awacs.kms
import awacs.secretsmanager
import awacs.sns
from awacs.aws import Statement
from troposphere import AWSObject, GetAtt, Ref, Sub, cloudwatch, dynamodb, logs

from ops.awslogs import encode
from ops.models.log_processor import (
    FAMILY,
    FunctionProcessor,
    LogProcessor,
    MetricFilter,
    PatternAlert,
)
from ops.naming import logical_id
from templates.common import (
    SHORT_LIVED_TABLE_SKIPS,
    FunctionResources,
    FunctionSpec,
    RenderContext,
    add_function,
    allow,
    allow_invoke,
    arn,
    checkov_skips,
    kms_via,
    secret_arn,
)
from templates.jobs import log_processor_job

HANDLER = "functions.logs.handler.handler"
BUNDLE = "logs"
PRINCIPAL = "logs.amazonaws.com"
RATE_TABLE_ENV = "OPS_RATE_TABLE"


def add_log_processor(ctx: RenderContext, item: LogProcessor) -> FunctionResources | None:
    """What one `[[log_processor]]` renders; the function, where it has one."""
    if isinstance(item, MetricFilter):
        add_metric_filters(ctx, item)
        return None
    assert isinstance(item, FunctionProcessor)
    table = _rate_table(ctx, item) if isinstance(item, PatternAlert) else None
    fn = add_function(
        ctx,
        FunctionSpec(
            family=FAMILY,
            name=item.name,
            settings=item,
            handler=HANDLER,
            bundle=BUNDLE,
            statements=_statements(item, table),
            job=log_processor_job(item),
            description=f"ops log processor {item.name}: {item.action}",
            environment={RATE_TABLE_ENV: Ref(table)} if table else {},
            reserved_concurrency=item.concurrency,
        ),
    )
    for name, suffix in group_ids(item.names).items():
        _subscribe(ctx, fn, item, name, suffix)
    if item.prefixes:
        _account_policy(ctx, fn, item)
    return fn


def _subscribe(
    ctx: RenderContext, fn: FunctionResources, item: LogProcessor, name: str, suffix: str
) -> None:
    """One group: its invoke permission (SourceArn is that group) and its subscription filter."""
    permission = allow_invoke(
        ctx, fn, PRINCIPAL, arn("logs", f"log-group:{name}:*"), suffix, source_account=True
    )
    subscription = ctx.template.add_resource(
        logs.SubscriptionFilter(
            f"{fn.prefix}{suffix}Subscription",
            DependsOn=[permission.title],
            DestinationArn=fn.arn,
            FilterPattern=item.filter_pattern,
            LogGroupName=name,
        )
    )
    # A group this stack creates must exist before its filter, whichever family creates it.
    ctx.after_log_group(subscription, name)


def _account_policy(ctx: RenderContext, fn: FunctionResources, item: FunctionProcessor) -> None:
    """Prefixes: the account's subscription filter policy covers groups created later too.

    `ops render` touches no AWS, so it cannot list the groups a prefix matches today. The policy
    sends every group but the excluded ones; the permissions (one per prefix, SourceArn
    `log-group:PREFIX*`) let only the matching groups invoke, and the function keeps only them.
    """
    permissions = [
        allow_invoke(
            ctx,
            fn,
            PRINCIPAL,
            arn("logs", f"log-group:{prefix}*"),
            f"{suffix}Prefix",
            source_account=True,
        ).title
        for prefix, suffix in group_ids(item.prefixes).items()
    ]
    excluded = json.dumps([f"/aws/lambda/{fn.name}"])  # never its own output: no loop
    ctx.template.add_resource(
        logs.AccountPolicy(
            f"{fn.prefix}AccountPolicy",
            DependsOn=permissions,
            PolicyName=f"{fn.name}-subscription",
            PolicyType="SUBSCRIPTION_FILTER_POLICY",
            PolicyDocument=Sub(_policy_document(item.filter_pattern), Destination=fn.arn),
            Scope="ALL",
            SelectionCriteria=f"LogGroupName NOT IN {excluded}",
        )
    )


def _policy_document(filter_pattern: str) -> str:
    """The policy JSON for `Sub`: a literal `${` in the pattern is written `${!` there."""
    document = {"DestinationArn": "@DESTINATION@", "Distribution": "Random"}
    document["FilterPattern"] = filter_pattern.replace("${", "${!")
    return json.dumps(document, sort_keys=True).replace("@DESTINATION@", "${Destination}")


def _rate_table(ctx: RenderContext, item: PatternAlert) -> dynamodb.Table:
    """The alert rate limiter's state, shared by every concurrent copy of the function."""
    return ctx.template.add_resource(
        dynamodb.Table(
            logical_id(FAMILY, item.name, "RateLimit"),
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                dynamodb.AttributeDefinition(AttributeName="pk", AttributeType="S")
            ],
            KeySchema=[dynamodb.KeySchema(AttributeName="pk", KeyType="HASH")],
            TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(
                AttributeName="expires", Enabled=True
            ),
            SSESpecification=dynamodb.SSESpecification(SSEEnabled=True),
            Tags=ctx.tags(),
            Metadata=checkov_skips(*SHORT_LIVED_TABLE_SKIPS),
        )
    )


def _statements(item: FunctionProcessor, table: AWSObject | None) -> list[Statement]:
    if not isinstance(item, PatternAlert):
        return []  # REPORT metrics go out as EMF lines in its own log group: nothing more
    assert table is not None
    rate = allow(
        "RateLimit", [awacs.dynamodb.UpdateItem, awacs.dynamodb.GetItem], [GetAtt(table, "Arn")]
    )
    statements = [rate]
    if item.topic:
        statements.append(allow("Alerts", [awacs.sns.Publish], [item.topic]))
    if item.webhook_secret:
        secret = secret_arn(item.webhook_secret)
        statements.append(allow("WebhookUrl", [awacs.secretsmanager.GetSecretValue], [secret]))
    if item.kms_key and item.topic:  # publishing to an encrypted topic makes SNS use the key
        statements.append(
            kms_via("TopicKey", item.kms_key, "sns", [awacs.kms.GenerateDataKey, awacs.kms.Decrypt])
        )
    if item.kms_key and item.webhook_secret:
        statements.append(kms_via("SecretKey", item.kms_key, "secretsmanager", [awacs.kms.Decrypt]))
    return statements


def add_metric_filters(ctx: RenderContext, item: MetricFilter) -> None:
    """One metric filter per log group into the same metric, and one alarm on it if asked."""
    for name, suffix in group_ids(item.names).items():
        ctx.template.add_resource(
            logs.MetricFilter(
                logical_id(FAMILY, item.name) + f"{suffix}MetricFilter",
                LogGroupName=name,
                FilterPattern=item.filter_pattern,
                MetricTransformations=[
                    logs.MetricTransformation(
                        MetricName=item.metric_name,
                        MetricNamespace=item.namespace,
                        MetricValue="1",
                        Unit="Count",
                    )
                ],
            )
        )
    if item.alarm_threshold is not None:
        ctx.template.add_resource(_metric_alarm(ctx, item))


def _metric_alarm(ctx: RenderContext, item: MetricFilter) -> cloudwatch.Alarm:
    assert item.alarm_threshold is not None
    return cloudwatch.Alarm(
        logical_id(FAMILY, item.name, "Alarm"),
        AlarmDescription=f"{item.metric_name}: {item.alarm_threshold} or more matching lines",
        Namespace=item.namespace,
        MetricName=item.metric_name,
        Statistic="Sum",
        Period=int(item.alarm_period),
        EvaluationPeriods=1,
        Threshold=item.alarm_threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",  # no line, no data point: that is not an alarm
        AlarmActions=ctx.alarm_actions,
        OKActions=ctx.alarm_actions,
    )


_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
MAX_GROUP_ID = 80


def group_ids(names: tuple[str, ...]) -> dict[str, str]:
    """Log group names as parts of logical ids: `/aws/lambda/x-y` -> `AwsLambdaXY`.

    Names that would share one (`/a/b`, `/a.b`) or are too long get a short hash of the name.
    """
    words = {name: logical_id(_NOT_ALNUM.sub("-", name)) or "Root" for name in names}
    taken = Counter(words.values())
    return {
        name: ids if taken[ids] == 1 and len(ids) <= MAX_GROUP_ID else _hashed(name, ids)
        for name, ids in words.items()
    }


def _hashed(name: str, words: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:8].upper()
    return f"{words[: MAX_GROUP_ID - 9]}H{digest}"


def sample_event(config: Any, section: Any, item: LogProcessor, region: str) -> dict[str, Any]:
    """What a subscription delivers to the processor: `awslogs.data`, base64 of gzip of JSON."""
    group = item.names[0] if item.names else f"{item.prefixes[0]}example"
    now = int(time.time() * 1000)
    lines = _sample_lines(item)
    message = {
        "messageType": "DATA_MESSAGE",
        "owner": "000000000000",
        "logGroup": group,
        "logStream": "2025/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "subscriptionFilters": [f"{config.stack.name}-{logical_id(FAMILY, item.name)}"],
        "logEvents": [
            {
                "id": str(38_000_000_000_000_000_000_000 * 10**32 + i),
                "timestamp": now - 1000 + i,
                "message": line,
            }
            for i, line in enumerate(lines)
        ],
    }
    return {"awslogs": {"data": encode(message)}}


def _sample_lines(item: LogProcessor) -> list[str]:
    if isinstance(item, PatternAlert):
        return [
            "[ERROR]\t2025-01-01T00:00:00.000Z\t6f1c9a52-0d8e-4c41-9f2d-3a1b2c3d4e5f\t"
            "payment failed: card declined\n",
            "[INFO]\t2025-01-01T00:00:01.000Z\t6f1c9a52-0d8e-4c41-9f2d-3a1b2c3d4e5f\tretrying\n",
        ]
    report = (
        "REPORT RequestId: 6f1c9a52-0d8e-4c41-9f2d-3a1b2c3d4e5f\tDuration: 102.35 ms\t"
        "Billed Duration: 103 ms\tMemory Size: 512 MB\tMax Memory Used: 88 MB\t"
    )
    platform = {
        "time": "2025-01-01T00:00:02.000Z",
        "type": "platform.report",
        "record": {
            "requestId": "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
            "metrics": {
                "durationMs": 3000.0,
                "billedDurationMs": 3000,
                "memorySizeMB": 512,
                "maxMemoryUsedMB": 120,
                "initDurationMs": 410.5,
            },
            "status": "timeout",
        },
    }
    return [
        report + "Init Duration: 245.10 ms\t\n",
        report,
        json.dumps(platform),
        "2025-01-01T00:00:03.000Z 1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e Task timed out after "
        "3.00 seconds\n",
    ]
