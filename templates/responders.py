"""Alarm responders: alarm -> encrypted SNS topic -> function, or rule -> function, or a native
CloudWatch alarm action with no function at all; per `[[responder]]`.

Each function's role allows exactly what its action touches (the table, the DB instance, the
function, the secret) plus DescribeAlarms on the alarms it watches and the stack's marker table.
The topic key is a customer-managed KMS key: CloudWatch must be allowed kms:GenerateDataKey and
kms:Decrypt to publish to an encrypted topic, and the AWS-managed `alias/aws/sns` key's policy
cannot grant that (alarms to such a topic are silently never delivered).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import singledispatch
from typing import Any

import awacs.application_autoscaling
import awacs.awslambda
import awacs.cloudwatch
import awacs.dynamodb
import awacs.kms
import awacs.rds
import awacs.secretsmanager
import awacs.sns
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, Sub, cloudwatch, dynamodb, events, kms, sns

from ops.config import Config
from ops.models.responder import (
    COMPARISONS,
    AlarmDefinition,
    DynamoDBScale,
    Ec2Native,
    LambdaConcurrency,
    Notify,
    RdsExtendStorage,
    Responder,
)
from ops.naming import LOCAL_ACCOUNT, function_name, logical_id
from templates.common import (
    POLICY_VERSION,
    SHORT_LIVED_TABLE_SKIPS,
    FunctionResources,
    FunctionSpec,
    RenderContext,
    add_function,
    add_rule,
    allow,
    allow_invoke,
    arn,
    checkov_skips,
    kms_via,
    secret_arn,
    without_actions,
)
from templates.jobs import responder_job

HANDLER = "functions.responders.handler.handler"
BUNDLE = "responders"
FAMILY = "responder"
MARKER_TABLE = "ResponderMarkers"
TOPIC_KEY = "ResponderTopicKey"
MAX_EVENT_AGE = 3600  # an alarm an hour old is re-checked anyway; older ones go to the DLQ


def add_responder(ctx: RenderContext, item: Responder) -> FunctionResources | cloudwatch.Alarm:
    """A function with its trigger; a native action renders the alarm alone."""
    if isinstance(item, Ec2Native):
        assert item.alarm is not None  # the config's cross-check requires it
        action = Sub(
            f"arn:${{AWS::Partition}}:automate:${{AWS::Region}}:ec2:{item.automate_action}"
        )
        return _alarm(ctx, item, item.alarm, [action, *ctx.alarm_actions], ok=ctx.alarm_actions)
    name = alarm_name(ctx, item)
    markers = _marker_table(ctx)
    fn = add_function(
        ctx,
        FunctionSpec(
            family=FAMILY,
            name=item.name,
            settings=item,
            handler=HANDLER,
            bundle=BUNDLE,
            statements=_statements(item, markers, name),
            job=responder_job(item, name),
            description=f"ops responder {item.name}: {item.action}"
            + (" (dry run)" if item.dry_run else ""),
            environment={"OPS_MARKER_TABLE": Ref(markers)},
            max_event_age=MAX_EVENT_AGE,
        ),
    )
    if item.alarm is not None:
        topic = _topic(ctx, fn, item)
        _alarm(ctx, item, item.alarm, [Ref(topic), *ctx.alarm_actions], ok=[Ref(topic)])
    else:
        _rule(ctx, fn, item.alarms or ())
    return fn


def alarm_name(ctx: RenderContext, item: Responder) -> str:
    """A defined alarm is named like the responder's function: `<stack>-responder-<name>`."""
    return function_name(ctx.config.stack.name, FAMILY, item.name)


def _alarm(
    ctx: RenderContext, item: Responder, alarm: AlarmDefinition, actions: list, ok: list
) -> cloudwatch.Alarm:
    extra = {}
    if alarm.datapoints_to_alarm:
        extra["DatapointsToAlarm"] = alarm.datapoints_to_alarm
    return ctx.template.add_resource(
        cloudwatch.Alarm(
            logical_id(FAMILY, item.name, "Alarm"),
            AlarmName=alarm_name(ctx, item),
            AlarmDescription=alarm.description or f"ops responder {item.name}: {item.action}",
            Namespace=alarm.namespace,
            MetricName=alarm.metric,
            Dimensions=[
                cloudwatch.MetricDimension(Name=k, Value=v) for k, v in alarm.dimensions.items()
            ],
            Statistic=alarm.statistic,
            Period=alarm.period,
            EvaluationPeriods=alarm.evaluation_periods,
            Threshold=alarm.threshold,
            ComparisonOperator=COMPARISONS[alarm.comparison],
            TreatMissingData=alarm.treat_missing_data,
            AlarmActions=actions,
            OKActions=ok,
            **extra,
        )
    )


def _topic(ctx: RenderContext, fn: FunctionResources, item: Responder) -> sns.Topic:
    """The alarm's topic, encrypted, publishable by this account's alarms only."""
    topic = ctx.template.add_resource(
        sns.Topic(
            f"{fn.prefix}Topic",
            KmsMasterKeyId=Ref(_topic_key(ctx)),
            Tags=ctx.tags(),
        )
    )
    alarms = arn("cloudwatch", "alarm:*")
    ctx.template.add_resource(
        sns.TopicPolicy(
            f"{fn.prefix}TopicPolicy",
            Topics=[Ref(topic)],
            PolicyDocument=PolicyDocument(
                Version=POLICY_VERSION,
                Statement=[
                    Statement(
                        Sid="AlarmsOfThisAccount",
                        Effect=Allow,
                        Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                        Action=[awacs.sns.Publish],
                        Resource=[Ref(topic)],
                        # Confused-deputy guard: only this account's alarms may publish.
                        Condition=Condition(
                            [
                                ArnLike("aws:SourceArn", alarms),
                                StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
                            ]
                        ),
                    )
                ],
            ),
        )
    )
    ctx.template.add_resource(
        sns.SubscriptionResource(
            f"{fn.prefix}Subscription",
            TopicArn=Ref(topic),
            Protocol="lambda",
            Endpoint=fn.arn,
            RedrivePolicy=ctx.redrive_from_topic(Ref(topic)),
        )
    )
    allow_invoke(ctx, fn, "sns.amazonaws.com", Ref(topic), "Topic")
    return topic


def _rule(ctx: RenderContext, fn: FunctionResources, names: tuple[str, ...]) -> events.Rule:
    """Existing alarms' state changes, by exact name or name prefix."""
    matchers: list[object] = [{"prefix": n[:-1]} if n.endswith("*") else n for n in names]
    return add_rule(
        ctx,
        fn,
        "Rule",
        description=f"Alarm state changes for {fn.name}",
        pattern={
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": matchers, "state": {"value": ["ALARM", "OK"]}},
        },
        retries=2,
        max_event_age=MAX_EVENT_AGE,
    )


def _marker_table(ctx: RenderContext) -> dynamodb.Table:
    """The stack's one idempotency and cool-down table (see functions/responders/markers.py)."""
    if MARKER_TABLE in ctx.template.resources:
        return ctx.template.resources[MARKER_TABLE]
    return ctx.template.add_resource(
        dynamodb.Table(
            MARKER_TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[dynamodb.KeySchema(AttributeName="pk", KeyType="HASH")],
            AttributeDefinitions=[
                dynamodb.AttributeDefinition(AttributeName="pk", AttributeType="S")
            ],
            TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(
                AttributeName="expires_at", Enabled=True
            ),
            SSESpecification=dynamodb.SSESpecification(SSEEnabled=True),
            Tags=ctx.tags(),
            Metadata=checkov_skips(*SHORT_LIVED_TABLE_SKIPS),
        )
    )


ALARMS_HERE = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"


def _topic_key(ctx: RenderContext) -> kms.Key:
    """One customer-managed key for every responder topic, usable by CloudWatch alarms."""
    if TOPIC_KEY in ctx.template.resources:
        return ctx.template.resources[TOPIC_KEY]
    root = Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")])
    admin = [
        awacs.kms.DescribeKey, awacs.kms.GetKeyPolicy, awacs.kms.PutKeyPolicy,
        awacs.kms.EnableKeyRotation, awacs.kms.GetKeyRotationStatus, awacs.kms.EnableKey,
        awacs.kms.DisableKey, awacs.kms.UpdateKeyDescription, awacs.kms.TagResource,
        awacs.kms.UntagResource, awacs.kms.ListResourceTags, awacs.kms.ScheduleKeyDeletion,
        awacs.kms.CancelKeyDeletion,
    ]  # fmt: skip
    policy = PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            # In a key policy, Resource "*" means this key and nothing else.
            Statement(Sid="AccountAdministers", Effect=Allow, Principal=root, Action=admin,
                      Resource=["*"]),
            Statement(
                Sid="AlarmsPublishToEncryptedTopics",
                Effect=Allow,
                Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                Action=[awacs.kms.GenerateDataKey, awacs.kms.Decrypt],
                Resource=["*"],
                # Confused-deputy guard, as on the topics: this account's alarms only (CloudWatch
                # passes both keys to KMS; EventBridge, which does not, never uses this key).
                Condition=Condition(
                    [
                        StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
                        ArnLike("aws:SourceArn", Sub(ALARMS_HERE)),
                    ]
                ),
            ),
        ],
    )  # fmt: skip
    return ctx.template.add_resource(
        kms.Key(
            TOPIC_KEY,
            Description="ops responders: encrypts alarm topics; CloudWatch may use it",
            EnableKeyRotation=True,
            KeyPolicy=policy,
            Tags=ctx.tags(),
        )
    )


CHANGES = ("Update", "Modify", "Put", "Delete")  # the verbs of actions that change a resource


def _statements(item: Responder, markers: dynamodb.Table, name: str) -> list[Statement]:
    acting = action_statements(item)
    patterns = item.alarms if item.alarms is not None else (name,)
    marking = [
        awacs.dynamodb.PutItem,
        awacs.dynamodb.UpdateItem,
        awacs.dynamodb.DeleteItem,
        awacs.dynamodb.GetItem,
    ]
    found = [
        allow(
            "StillInAlarm",
            [awacs.cloudwatch.DescribeAlarms],
            [arn("cloudwatch", f"alarm:{p}") for p in patterns],
        ),
        allow("Markers", marking, [GetAtt(markers, "Arn")]),
        # A dry run only recommends: its role reads what it would change, and changes nothing.
        *(without_actions(acting, CHANGES) if item.dry_run else acting),
    ]
    if item.webhook_secret:  # a name or an ARN (templates.iam.secret_arn)
        secret = secret_arn(item.webhook_secret)
        found.append(allow("WebhookSecret", [awacs.secretsmanager.GetSecretValue], [secret]))
    if item.webhook_secret and item.kms_key:  # a secret encrypted with a customer key
        found.append(kms_via("SecretKey", item.kms_key, "secretsmanager", [awacs.kms.Decrypt]))
    return found


@singledispatch
def action_statements(item: Responder) -> list[Statement]:
    """The IAM statements an action needs beyond alarms, markers and the webhook secret: one
    implementation per model class with a function (tests/test_registries.py checks each)."""
    raise TypeError(f"no IAM statements for responder action {item.action!r} in {__name__}")


@action_statements.register
def notify_statements(item: Notify) -> list[Statement]:
    return []  # it only posts to the webhook, whose secret every responder may read


@action_statements.register
def dynamodb_statements(item: DynamoDBScale) -> list[Statement]:
    return [
        allow(
            "TableCapacity",
            [awacs.dynamodb.DescribeTable, awacs.dynamodb.UpdateTable],
            [arn("dynamodb", f"table/{item.table}")],
        ),
        # DescribeScalableTargets supports no resource-level permissions: "*" is required.
        allow("AutoScalingTargets", [awacs.application_autoscaling.DescribeScalableTargets], ["*"]),
    ]


@action_statements.register
def rds_statements(item: RdsExtendStorage) -> list[Statement]:
    storage = [awacs.rds.DescribeDBInstances, awacs.rds.ModifyDBInstance]
    return [allow("InstanceStorage", storage, [arn("rds", f"db:{item.db_instance}")])]


@action_statements.register
def lambda_statements(item: LambdaConcurrency) -> list[Statement]:
    concurrency = [awacs.awslambda.GetFunctionConcurrency, awacs.awslambda.PutFunctionConcurrency]
    return [allow("FunctionConcurrency", concurrency, [arn("lambda", f"function:{item.function}")])]


def sample_event(config: Config, section: Any, item: Responder, region: str) -> dict[str, Any]:
    """What the responder's trigger delivers when its alarm fires: an SNS record for an alarm
    defined here, an EventBridge state change for existing alarms (`ops event NAME`)."""

    name = function_name(config.stack.name, FAMILY, item.name)
    if item.alarms:
        first = item.alarms[0]
        name = f"{first[:-1]}example" if first.endswith("*") else first
    alarm_arn = f"arn:aws:cloudwatch:{region}:{LOCAL_ACCOUNT}:alarm:{name}"
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
    reason = "Threshold Crossed: 1 datapoint was greater than or equal to the threshold."
    if item.alarms:
        return _eventbridge_sample(alarm_arn, name, region, stamp, reason, LOCAL_ACCOUNT)
    message = {
        "AlarmName": name,
        "AlarmDescription": item.alarm.description if item.alarm else "",
        "AWSAccountId": LOCAL_ACCOUNT,
        "NewStateValue": "ALARM",
        "NewStateReason": reason,
        "StateChangeTime": stamp,
        "Region": region,  # CloudWatch writes a display name here; responders use the ARN
        "AlarmArn": alarm_arn,
        "OldStateValue": "OK",
        "Trigger": _sample_trigger(item.alarm),
    }
    topic = f"arn:aws:sns:{region}:{LOCAL_ACCOUNT}:{name}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": f'ALARM: "{name}" in {region}',
                    "Message": json.dumps(message),
                    "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                },
            }
        ]
    }


def _sample_trigger(alarm: AlarmDefinition | None) -> dict[str, Any]:
    if alarm is None:
        return {}
    return {
        "MetricName": alarm.metric,
        "Namespace": alarm.namespace,
        "StatisticType": "Statistic",
        "Statistic": alarm.statistic.upper(),
        "Dimensions": [{"value": v, "name": k} for k, v in alarm.dimensions.items()],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "ComparisonOperator": COMPARISONS[alarm.comparison],
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data,
    }


def _eventbridge_sample(
    alarm_arn: str, name: str, region: str, stamp: str, reason: str, account: str
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": stamp[:19] + "Z",
        "region": region,
        "resources": [alarm_arn],
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": reason, "timestamp": stamp},
            "previousState": {"value": "OK", "reason": "", "timestamp": stamp},
            "configuration": {"description": "", "metrics": []},
        },
    }
