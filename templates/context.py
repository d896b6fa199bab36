"""What the builders of one template share: the config, where each bundle's code lives, the
stack's one dead-letter queue (with its depth alarm and policy) and ordering that can only be
resolved once every family has added its resources (`RenderContext.finish`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import awacs.sqs
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement
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
    logs,
    sqs,
)

from ops.config import Config
from templates.iam import POLICY_VERSION
from templates.skips import checkov_skips

DEFAULT_ARTIFACT_BUCKET = "ops-artifacts-${AWS::AccountId}-${AWS::Region}"
# A stack set's instances read code from the administrator account's bucket of their region:
# the account is a parameter (one value for every instance), the region the instance's own.
ARTIFACT_ACCOUNT_PARAMETER = "ArtifactAccount"
STACK_SET_ARTIFACT_BUCKET = DEFAULT_ARTIFACT_BUCKET.replace(
    "${AWS::AccountId}", "${" + ARTIFACT_ACCOUNT_PARAMETER + "}"
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
    stack_set: bool = False  # one template for every instance of `[targets]`' stack set
    _dlq: sqs.Queue | None = None
    _dlq_senders: list[AWSHelperFn] = field(default_factory=list)
    _dlq_topics: list[AWSHelperFn] = field(default_factory=list)
    _log_group_readers: list[tuple[AWSObject, str]] = field(default_factory=list)

    @property
    def artifact_bucket(self) -> str | Sub:
        if self.stack_set:
            return Sub(STACK_SET_ARTIFACT_BUCKET)
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

    def redrive_from_topic(self, topic_arn: AWSHelperFn) -> dict[str, Any]:
        """A subscription's RedrivePolicy to the dead-letter queue, and the queue policy's leave
        for SNS to send there for `topic_arn`: a message SNS cannot deliver (the function or
        its permission gone) is kept, not dropped after SNS's retries."""
        queue = self.dead_letter_queue()
        self._dlq_topics.append(topic_arn)
        return {"deadLetterTargetArn": GetAtt(queue, "Arn")}

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
        if self._dlq is not None and (self._dlq_senders or self._dlq_topics):
            self.template.add_resource(
                _queue_policy(self._dlq, self._dlq_senders, self._dlq_topics)
            )

    def _own_log_groups(self) -> dict[str, str]:
        """The template's `AWS::Logs::LogGroup`s: name -> logical id."""
        return {
            resource.properties["LogGroupName"]: str(logical)
            for logical, resource in self.template.resources.items()
            if isinstance(resource, logs.LogGroup)
            and isinstance(resource.properties.get("LogGroupName"), str)
        }


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


def _queue_policy(
    queue: sqs.Queue, senders: list[AWSHelperFn], topics: list[AWSHelperFn]
) -> sqs.QueuePolicy:
    """EventBridge rules and SNS topics of this stack may send their undeliverable events."""
    statements = [
        Statement(
            Sid=sid,
            Effect=Allow,
            Principal=Principal("Service", [service]),
            Action=[awacs.sqs.SendMessage],
            Resource=[GetAtt(queue, "Arn")],
            Condition=Condition(ArnEquals("aws:SourceArn", sources)),
        )
        for sid, service, sources in (
            ("EventBridgeDeadLetters", "events.amazonaws.com", senders),
            ("SnsDeadLetters", "sns.amazonaws.com", topics),
        )
        if sources
    ]
    return sqs.QueuePolicy(
        "DeadLetterQueuePolicy",
        Queues=[Ref(queue)],
        PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
    )
