"""What every bucket the stack creates has: versioning, SSE-S3, no public access, objects owned
by the bucket owner, old versions and stale multipart uploads expired, TLS only."""

from __future__ import annotations

from typing import Any

import awacs.s3
from awacs.aws import Bool, Condition, Deny, Principal, Statement
from troposphere import s3

from templates.iam import s3_arn


def private_bucket(rule_id: str, noncurrent_days: int) -> dict[str, Any]:
    """The `AWS::S3::Bucket` properties that make a bucket private and tidy."""
    return {
        "VersioningConfiguration": s3.VersioningConfiguration(Status="Enabled"),
        "BucketEncryption": s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                        SSEAlgorithm="AES256"
                    )
                )
            ]
        ),
        "PublicAccessBlockConfiguration": s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True,
            BlockPublicPolicy=True,
            IgnorePublicAcls=True,
            RestrictPublicBuckets=True,
        ),
        "OwnershipControls": s3.OwnershipControls(
            Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
        "LifecycleConfiguration": s3.LifecycleConfiguration(
            Rules=[
                s3.LifecycleRule(
                    Id=rule_id,
                    Status="Enabled",
                    NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                        NoncurrentDays=noncurrent_days
                    ),
                    AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                        DaysAfterInitiation=1
                    ),
                )
            ]
        ),
    }


def deny_insecure_transport(bucket: str) -> Statement:
    """A bucket-policy statement refusing every request not made over TLS."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[awacs.s3.Action("*")],  # a Deny of every action narrows; it grants nothing
        Resource=[s3_arn(bucket), s3_arn(f"{bucket}/*")],
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )
