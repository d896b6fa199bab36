"""The deployer's stack for one region: deploy bucket, notification, deployer, and (in the
primary region) the live replication to every live replica bucket; a delayed replica's region
adds the copier, which pulls uploads from the primary once they are old enough.

Which stack renders comes from the region asked for (`ops render --region R`, default the
primary) and the config: the primary's bucket replicates to the replicas' buckets, each replica
region has its own bucket and deployer. The bucket notification invokes the deployer's stage
alias; the template creates that alias pointing at `$LATEST` and never changes its target
afterwards, so `ops apply` cannot move it back once the deployer has deployed itself.
"""

from __future__ import annotations

from typing import Any

import awacs.awslambda
import awacs.s3
from awacs.aws import (
    Action,
    Allow,
    ArnNotEquals,
    ArnNotLike,
    Condition,
    ConditionElement,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, awslambda, iam, s3

from ops.errors import UsageError
from ops.models.deployer import Deployer, Replica, deploy_regions
from ops.models.user_function import deployable
from ops.naming import function_name
from templates.buckets import deny_insecure_transport, private_bucket
from templates.common import (
    POLICY_VERSION,
    FunctionResources,
    FunctionSpec,
    RenderContext,
    add_alias,
    add_function,
    add_schedule,
    allow,
    arn,
    checkov_skips,
    s3_arn,
    trust,
)
from templates.jobs import copier_job, deployer_job

HANDLER = "functions.deployer.handler.handler"
COPIER_HANDLER = "functions.deployer.copier.handler"
BUNDLE = "deployer"
FAMILY = "deployer"
NONCURRENT_DAYS = 30  # old uploads are kept this long for audits; Lambda keeps its own copy


def add_deployer(ctx: RenderContext, deployer: Deployer) -> FunctionResources:
    """The stack of the region rendered: primary (with replication) or a replica."""
    region = ctx.region or deployer.region
    bucket = deployer.bucket_in(region)
    if bucket is None:
        regions = ", ".join(deploy_regions(ctx.config))
        raise UsageError(
            f"the deployer has no stack for {region}: render with --region one of {regions}"
        )
    fn = add_function(ctx, _spec(ctx, deployer, bucket))
    alias = _add_alias(ctx, fn, deployer.own_stage)
    permission = ctx.template.add_resource(
        awslambda.Permission(
            f"{fn.prefix}BucketPermission",
            Action="lambda:InvokeFunction",
            FunctionName=Ref(alias),
            Principal="s3.amazonaws.com",
            # The bucket's name, not a Ref: the bucket depends on this permission.
            SourceArn=s3_arn(bucket),
            SourceAccount=Ref("AWS::AccountId"),
        )
    )
    primary = region == deployer.region
    replication = _replication(ctx, deployer) if primary and deployer.live_replicas else None
    deploy_bucket = ctx.template.add_resource(
        _bucket(ctx, deployer, bucket, alias, permission, replication)
    )
    replica = None if primary else deployer.delayed_replica(region)
    copier = _add_copier(ctx, deployer, region, replica) if replica else None
    ctx.template.add_resource(_bucket_policy(deployer, bucket, deploy_bucket, fn, copier))
    return fn


def _spec(ctx: RenderContext, deployer: Deployer, bucket: str) -> FunctionSpec:
    own = function_name(ctx.config.stack.name, FAMILY, deployer.name)
    job = deployer_job(deployer, deployable(ctx.config), own)
    return FunctionSpec(
        family=FAMILY,
        name=deployer.name,
        settings=deployer,
        handler=HANDLER,
        bundle=BUNDLE,
        statements=deployer_statements(deployer, bucket, own, deployable(ctx.config)),
        job=job,
        description=f"ops deployer: s3://{bucket}/{deployer.prefix}<stage>/<function>.zip",
        reserved_concurrency=1,  # two deploys to one function never race
        # Every step is idempotent (duplicates are skipped by the alias record), so Lambda's
        # retries are safe; records that cannot succeed are rejected without an error.
        retries=2,
    )


def deployer_statements(
    deployer: Deployer, bucket: str, own: str, allowed: tuple[str, ...] | None = None
) -> list[Statement]:
    """Update code, publish, move aliases only on allow-listed functions (`allowed`: the
    allow-list with the config's staged `[[function]]`s); read only uploads."""
    allowed = deployer.functions if allowed is None else allowed
    names = [*allowed, own]
    functions = [arn("lambda", f"function:{n}{q}") for n in names for q in ("", ":*")]
    deploying = [
        awacs.awslambda.GetFunction,
        awacs.awslambda.UpdateFunctionCode,
        awacs.awslambda.PublishVersion,
        awacs.awslambda.GetAlias,
        awacs.awslambda.UpdateAlias,
        awacs.awslambda.CreateAlias,  # the first deploy to a stage creates its alias
    ]
    uploads = s3_arn(f"{bucket}/{deployer.prefix}*")
    reports = s3_arn(f"{bucket}/{deployer.report_prefix}*")
    statements = [
        allow("DeployAllowListedFunctions", deploying, functions),
        # UpdateFunctionCode reads the object with the caller's rights.
        allow("ReadUploads", [awacs.s3.GetObject, awacs.s3.GetObjectVersion], [uploads]),
        allow("WriteReports", [awacs.s3.PutObject], [reports]),
    ]
    if deployer.smoke_test:
        versions = [arn("lambda", f"function:{n}:*") for n in allowed]
        statements.append(allow("SmokeTestNewVersions", [awacs.awslambda.InvokeFunction], versions))
    return statements


def _add_alias(ctx: RenderContext, fn: FunctionResources, stage: str) -> awslambda.Alias:
    """The alias uploads invoke (its target stays `$LATEST` in every render)."""
    return add_alias(ctx, fn, stage, f"{fn.prefix}Alias")


def _bucket(
    ctx: RenderContext,
    deployer: Deployer,
    bucket: str,
    alias: awslambda.Alias,
    permission: awslambda.Permission,
    replication: s3.ReplicationConfiguration | None,
) -> s3.Bucket:
    notification = s3.LambdaConfigurations(
        Event="s3:ObjectCreated:*",
        Function=Ref(alias),
        Filter=s3.Filter(
            S3Key=s3.S3Key(
                Rules=[
                    s3.Rules(Name="prefix", Value=deployer.prefix),
                    s3.Rules(Name="suffix", Value=".zip"),
                ]
            )
        ),
    )
    extra = {"ReplicationConfiguration": replication} if replication else {}
    return s3.Bucket(
        "DeployBucket",
        DependsOn=[permission.title],  # S3 checks it may invoke the alias when it saves this
        Metadata=checkov_skips(
            (
                "CKV_AWS_18",
                "writers are the principals the bucket policy names; record their uploads with "
                "CloudTrail S3 data events, which server access logs (best effort, another "
                "bucket) would only duplicate",
            )
        ),
        BucketName=bucket,
        **private_bucket("old-uploads", NONCURRENT_DAYS),
        NotificationConfiguration=s3.NotificationConfiguration(LambdaConfigurations=[notification]),
        Tags=ctx.tags(),
        **extra,
    )


def _bucket_policy(
    deployer: Deployer,
    bucket: str,
    deploy_bucket: s3.Bucket,
    fn: FunctionResources,
    copier: FunctionResources | None,
) -> s3.BucketPolicy:
    """TLS only; uploads only by `writers` (and a delayed replica's copier); reports only by
    this region's deployer."""
    writers: list[Any] = list(deployer.writers)
    if copier is not None:
        writers.append(GetAtt(copier.role, "Arn"))
    statements = [
        # A Deny of every action narrows; it grants nothing.
        deny_insecure_transport(bucket),
        _deny_everyone(
            "UploadsOnlyByWriters",
            awacs.s3.PutObject,
            [s3_arn(f"{bucket}/{deployer.prefix}*")],
            ArnNotLike("aws:PrincipalArn", writers),
        ),
        _deny_everyone(
            "ReportsOnlyByTheDeployer",
            awacs.s3.PutObject,
            [s3_arn(f"{bucket}/{deployer.report_prefix}*")],
            ArnNotEquals("aws:PrincipalArn", GetAtt(fn.role, "Arn")),
        ),
    ]
    return s3.BucketPolicy(
        "DeployBucketPolicy",
        Bucket=Ref(deploy_bucket),
        PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
    )


def _deny_everyone(
    sid: str, action: Action, resources: list[Any], unless: ConditionElement
) -> Statement:
    """A bucket-policy statement: nobody may do `action` on `resources` when `unless` holds."""
    return Statement(
        Sid=sid,
        Effect=Deny,
        Principal=Principal("*"),
        Action=[action],
        Resource=resources,
        Condition=Condition(unless),
    )


def _add_copier(
    ctx: RenderContext, deployer: Deployer, region: str, replica: Replica
) -> FunctionResources:
    """The delayed replica's copier: every `every`, copy the primary's uploads that are at
    least `delay` old into this region's bucket (functions/deployer/copier.py)."""
    job = copier_job(deployer, replica)
    fn = add_function(
        ctx,
        FunctionSpec(
            family=FAMILY,
            name=f"{deployer.name}-copier",
            settings=deployer,
            handler=COPIER_HANDLER,
            bundle=BUNDLE,
            statements=copier_statements(deployer, replica.bucket),
            job=job,
            description=(
                f"ops copier: s3://{deployer.bucket}/{deployer.prefix} ({deployer.region}) to "
                f"s3://{replica.bucket} once {replica.delay} old"
            ),
            reserved_concurrency=1,  # two runs never copy the same key at once
            retries=0,  # the next schedule is the retry
        ),
    )
    minutes = int(replica.interval) // 60
    add_schedule(ctx, fn, f"rate({minutes} minute{'s' if minutes > 1 else ''})", 300)
    return fn


def copier_statements(deployer: Deployer, bucket: str) -> list[Statement]:
    """List and read the primary's upload versions; read and write this region's uploads."""
    source = deployer.bucket
    return [
        Statement(
            Sid="ListUploadVersions",
            Effect=Allow,
            Action=[awacs.s3.ListBucketVersions],
            Resource=[s3_arn(source)],
            Condition=Condition(StringEquals("s3:prefix", deployer.prefix)),
        ),
        # HeadObject and CopyObject of a pinned version both need GetObjectVersion.
        allow(
            "ReadUploadVersions",
            [awacs.s3.GetObjectVersion],
            [s3_arn(f"{source}/{deployer.prefix}*")],
        ),
        # ListBucket: the replica listing each run starts with (and a HEAD of a missing key 404s).
        allow("SeeReplicaUploads", [awacs.s3.ListBucket], [s3_arn(bucket)]),
        allow(
            "CopyUploads",
            [awacs.s3.GetObject, awacs.s3.PutObject],
            [s3_arn(f"{bucket}/{deployer.prefix}*")],
        ),
    ]


def _replication(ctx: RenderContext, deployer: Deployer) -> s3.ReplicationConfiguration:
    """Live cross-region replication of the uploads, one rule per live replica bucket."""
    role = ctx.template.add_resource(replication_role(ctx, deployer))
    rules = [
        s3.ReplicationConfigurationRules(
            Id=f"deploy-to-{region}",
            Status="Enabled",
            Priority=index,
            Filter=s3.ReplicationRuleFilter(Prefix=deployer.prefix),
            DeleteMarkerReplication=s3.DeleteMarkerReplication(Status="Disabled"),
            Destination=s3.ReplicationConfigurationRulesDestination(
                Bucket=s3_arn(deployer.live_replicas[region])
            ),
        )
        for index, region in enumerate(sorted(deployer.live_replicas))
    ]
    return s3.ReplicationConfiguration(Role=GetAtt(role, "Arn"), Rules=rules)


def replication_role(ctx: RenderContext, deployer: Deployer) -> iam.Role:
    """Exactly what S3 needs to replicate the uploads: read them here, replicate them there."""
    source = deployer.bucket
    replicas = [
        s3_arn(f"{b}/{deployer.prefix}*") for _, b in sorted(deployer.live_replicas.items())
    ]
    reading = [
        awacs.s3.GetObjectVersionForReplication,
        awacs.s3.GetObjectVersionAcl,
        awacs.s3.GetObjectVersionTagging,
    ]
    # No ReplicateDelete: delete markers are not replicated (DeleteMarkerReplication Disabled).
    replicating = [awacs.s3.ReplicateObject, awacs.s3.ReplicateTags]
    statements = [
        allow(
            "SourceBucket",
            [awacs.s3.GetReplicationConfiguration, awacs.s3.ListBucket],
            [s3_arn(source)],
        ),
        allow("SourceObjects", reading, [s3_arn(f"{source}/{deployer.prefix}*")]),
        allow("ReplicaObjects", replicating, replicas),
    ]
    return iam.Role(
        "DeployReplicationRole",
        # Only S3 on behalf of this account's buckets may assume it (confused-deputy guard).
        AssumeRolePolicyDocument=trust("s3.amazonaws.com", source_account=True),
        Policies=[
            iam.Policy(
                PolicyName="replicate-uploads",
                PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=statements),
            )
        ],
        Tags=ctx.tags(),
    )
