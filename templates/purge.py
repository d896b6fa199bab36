"""Scheduled purge jobs: the function, its scoped role and its schedule, per `[[purge]]` job."""

from __future__ import annotations

from functools import singledispatch

import awacs.awslambda
import awacs.ec2
import awacs.logs
import awacs.s3
import awacs.tag
from awacs.aws import Condition, Statement, StringEquals, StringLike
from troposphere import events

from ops.models.purge import (
    EbsSnapshotsPurge,
    LambdaVersionsPurge,
    LogStreamsPurge,
    PurgeJob,
    S3Purge,
)
from ops.naming import function_name
from ops.schedule import rate_seconds
from templates.common import (
    FunctionResources,
    FunctionSpec,
    RenderContext,
    add_function,
    add_schedule,
    allow,
    arn,
    s3_arn,
    without_actions,
)
from templates.jobs import PURGE_HANDLER as HANDLER
from templates.jobs import purge_has_function, purge_job
from templates.lifecycle import add_lifecycle_job

BUNDLE = "purge"


def add_purge_job(ctx: RenderContext, job: PurgeJob) -> FunctionResources | events.Rule:
    """One job: a function that never overlaps itself and is never retried blindly; or, for
    an S3 job in mode = "lifecycle", only what counts the deletions S3 does for it."""
    if isinstance(job, S3Purge) and not purge_has_function(job):
        return add_lifecycle_job(ctx, job)
    age = max_event_age(job.schedule)
    fn = add_function(
        ctx,
        FunctionSpec(
            family="purge",
            name=job.name,
            settings=job,
            handler=HANDLER,
            bundle=BUNDLE,
            statements=[*purge_statements(job), *continuation_statements(ctx, job)],
            job=purge_job(job),
            description=f"ops purge {job.name}: {job.target} older than {job.older_than}",
            reserved_concurrency=1,  # scheduled runs never overlap
            retries=0,  # a failed run is picked up by the next schedule, not retried blindly
            max_event_age=age,
        ),
    )
    add_schedule(ctx, fn, job.schedule, max_event_age=age, timezone=job.timezone)
    return fn


def max_event_age(schedule: str) -> int:
    """A queued run older than its own interval is dropped: the next one is already due."""
    interval = rate_seconds(schedule) or 3600
    return max(60, min(interval, 21600))


def purge_statements(job: PurgeJob) -> list[Statement]:
    """The target's statements; a dry run's without one that deletes (it only reports)."""
    statements = target_statements(job)
    return without_actions(statements, ("Delete",)) if job.dry_run else statements


def continuation_statements(ctx: RenderContext, job: PurgeJob) -> list[Statement]:
    """`on_timeout = "continue"`: the function may invoke itself (unqualified), nothing else.

    The ARN is built from the derived name, not `GetAtt` of the function: the role is created
    before the function, so a reference back to it would be a circular dependency.
    """
    if job.on_timeout != "continue":
        return []
    name = function_name(ctx.config.stack.name, "purge", job.name)
    itself = arn("lambda", f"function:{name}")
    return [allow("HandOnToItself", [awacs.awslambda.InvokeFunction], [itself])]


@singledispatch
def target_statements(job: PurgeJob) -> list[Statement]:
    """The IAM statements the target's function needs: one implementation per model class,
    registered below (tests/test_registries.py checks every target has one)."""
    raise TypeError(f"no IAM statements for purge target {job.target!r} in templates/purge.py")


@target_statements.register
def s3_statements(job: S3Purge) -> list[Statement]:
    bucket = s3_arn(job.bucket)
    under_prefix = Condition(StringLike("s3:prefix", [f"{job.prefix}*"]))
    return [
        allow(
            "ListUnderPrefix",
            [awacs.s3.ListBucket, awacs.s3.ListBucketVersions],
            [bucket],
            under_prefix,
        ),
        allow("ReadVersioning", [awacs.s3.GetBucketVersioning], [bucket]),
        allow(
            "DeleteUnderPrefix",
            [awacs.s3.DeleteObject, awacs.s3.DeleteObjectVersion],
            [s3_arn(f"{job.bucket}/{job.prefix}*")],
        ),
    ]


@target_statements.register
def lambda_versions_statements(job: LambdaVersionsPurge) -> list[Statement]:
    functions = arn("lambda", f"function:{job.function_prefix}*")
    # GetResources (Resource Groups Tagging API), ListFunctions and ListEventSourceMappings have
    # no resource-level permissions: IAM accepts only "*" for them.
    finding = [awacs.tag.GetResources] if job.tags else [awacs.awslambda.ListFunctions]
    reading = [
        awacs.awslambda.ListVersionsByFunction,
        awacs.awslambda.ListAliases,
        awacs.awslambda.ListProvisionedConcurrencyConfigs,
    ]
    return [
        allow("FindFunctions", [*finding, awacs.awslambda.ListEventSourceMappings], ["*"]),
        allow("ReadVersionsAndUsers", reading, [functions]),
        # Qualified ARNs only (function:NAME:VERSION): the role can delete a version, never a
        # whole function (an unqualified DeleteFunction does not match this pattern).
        allow(
            "DeleteVersions",
            [awacs.awslambda.DeleteFunction],
            [arn("lambda", f"function:{job.function_prefix}*:*")],
        ),
    ]


@target_statements.register
def ebs_snapshots_statements(job: EbsSnapshotsPurge) -> list[Statement]:
    tagged = {f"aws:ResourceTag/{key}": value for key, value in sorted(job.tags.items())}
    return [
        # DescribeSnapshots and DescribeImages have no resource-level permissions ("*" only).
        allow(
            "ListSnapshotsAndImages",
            [awacs.ec2.DescribeSnapshots, awacs.ec2.DescribeImages],
            ["*"],
        ),
        # EC2 evaluates aws:ResourceTag on DeleteSnapshot: only snapshots carrying the job's tags.
        allow(
            "DeleteTaggedSnapshots",
            [awacs.ec2.DeleteSnapshot],
            [arn("ec2", "snapshot/*", account=False)],
            Condition(StringEquals(tagged)),
        ),
    ]


@target_statements.register
def log_streams_statements(job: LogStreamsPurge) -> list[Statement]:
    return [
        # DescribeLogGroups has no resource-level permissions ("*" only).
        allow("ListLogGroups", [awacs.logs.DescribeLogGroups], ["*"]),
        # log-group:PREFIX* also matches the groups' streams (log-group:NAME:log-stream:STREAM).
        allow(
            "PurgeStreamsUnderPrefix",
            [awacs.logs.DescribeLogStreams, awacs.logs.DeleteLogStream],
            [arn("logs", f"log-group:{job.log_group_prefix}*")],
        ),
    ]
