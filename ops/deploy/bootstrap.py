"""The region's artifact bucket and what goes into it: function zips and large templates.

The bucket is created on first use (versioned, encrypted, public access blocked, objects owned
by the bucket owner) and every call passes `ExpectedBucketOwner`, so a bucket of the same name in
another account is never written to. Objects are keyed by content hash: a key that is already
there holds exactly those bytes, so only missing keys are uploaded (one HeadObject each).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ops.build import zip_for_key
from ops.deploy.summary import Console
from ops.errors import OpsError, UsageError
from ops.package import Bundle, build_bundle
from templates.common import DEFAULT_ARTIFACT_BUCKET

NOT_FOUND = ("404", "NoSuchKey", "NoSuchBucket", "NotFound")
INLINE_TEMPLATE_LIMIT = 51_200  # CreateChangeSet's TemplateBody limit; larger goes through S3


@dataclass
class Clients:
    """The region's clients, given (tests) or made on first use by `factory` (the CLI's
    `AwsTarget.client`): an apply with no changes never needs S3 or STS, so never builds them."""

    cfn: Any
    _s3: Any = None
    _sts: Any = None
    factory: Callable[[str], Any] | None = None

    @property
    def s3(self) -> Any:
        if self._s3 is None and self.factory:
            self._s3 = self.factory("s3")
        return self._s3

    @property
    def sts(self) -> Any:
        if self._sts is None and self.factory:
            self._sts = self.factory("sts")
        return self._sts


def bucket_name(configured: str | None, account: str, region: str) -> str:
    """The configured bucket, or the template's own default with account and region filled in."""
    if configured:
        return configured
    return DEFAULT_ARTIFACT_BUCKET.replace("${AWS::AccountId}", account).replace(
        "${AWS::Region}", region
    )


def account_id(sts: Any) -> str:
    return str(sts.get_caller_identity()["Account"])


@dataclass(frozen=True)
class ArtifactBucket:
    """One region's artifact bucket, owned by `account`."""

    s3: Any
    name: str
    account: str
    region: str

    def exists(self) -> bool:
        """HeadBucket as the expected owner; a bucket someone else owns is an error to report."""
        from botocore.exceptions import ClientError

        try:
            head = self.s3.head_bucket(Bucket=self.name, ExpectedBucketOwner=self.account)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in NOT_FOUND:
                return False
            raise OpsError(
                f"artifact bucket {self.name} exists but is not usable by account {self.account} "
                f"({code}): set stack.artifact_bucket to a bucket this account owns in "
                f"{self.region}"
            ) from None
        self._check_region(head.get("BucketRegion"))
        return True

    def _check_region(self, where: str | None) -> None:
        # Lambda reads code only from a bucket in the function's own region.
        if where and where != self.region:
            raise OpsError(
                f"artifact bucket {self.name} is in {where}, but functions in {self.region} "
                "need their code in their own region: leave stack.artifact_bucket unset (one "
                "bucket per region is made) or name a bucket in that region"
            )

    def ensure(self, console: Console) -> bool:
        """Create the bucket if it is missing; True when it was created."""
        if self.exists():
            return False
        console.line(f"Creating artifact bucket {self.name} in {self.region}")
        where = (
            {}
            if self.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        self.s3.create_bucket(Bucket=self.name, ObjectOwnership="BucketOwnerEnforced", **where)
        self._harden()
        return True

    def _harden(self) -> None:
        owner = {"Bucket": self.name, "ExpectedBucketOwner": self.account}
        self.s3.put_public_access_block(
            **owner,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        self.s3.put_bucket_versioning(**owner, VersioningConfiguration={"Status": "Enabled"})
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        self.s3.put_bucket_encryption(**owner, ServerSideEncryptionConfiguration={"Rules": [rule]})

    def has(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.name, Key=key, ExpectedBucketOwner=self.account)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in NOT_FOUND:
                return False
            raise
        return True

    def put(self, key: str, body: bytes, content_type: str) -> None:
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # integrity, not security
        self.s3.put_object(
            Bucket=self.name,
            Key=key,
            Body=body,
            ContentMD5=md5,
            ContentType=content_type,
            ExpectedBucketOwner=self.account,
        )


def bundle_for_key(key: str) -> Bundle:
    """The bundle a template's `functions/<name>/<hash>.zip` key was rendered from."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "functions":
        raise OpsError(f"unexpected function code key {key!r} in the template")
    bundle = build_bundle(parts[1])
    if bundle.key != key:
        raise OpsError(
            f"the template wants {key} but functions/{parts[1]} now hashes to "
            f"{bundle.key}: the sources changed while rendering; run again"
        )
    return bundle


def upload_code(bucket: ArtifactBucket, keys: list[str], console: Console) -> list[str]:
    """Upload the zips whose content-hash key is not in the bucket yet; returns those keys."""
    uploaded = []
    for key in keys:
        if bucket.has(key):
            continue
        data = zip_for_key(key) if key.startswith("user/") else bundle_for_key(key).zip_bytes()
        console.line(f"Uploading {key} ({len(data):,} bytes) to {bucket.name}")
        bucket.put(key, data, "application/zip")
        uploaded.append(key)
    return uploaded


def template_key(body: str) -> str:
    return f"templates/{hashlib.sha256(body.encode()).hexdigest()}.json"


def upload_template(bucket: ArtifactBucket, body: str, endpoint_url: str | None) -> str:
    """Put a template too large to pass inline into the bucket; returns its TemplateURL."""
    key = template_key(body)
    if not bucket.has(key):
        bucket.put(key, body.encode(), "application/json")
    return template_url(bucket.name, key, bucket.region, endpoint_url)


def template_url(bucket: str, key: str, region: str, endpoint_url: str | None) -> str:
    """CloudFormation reads TemplateURL over https from the regional S3 endpoint; with
    --endpoint-url (a local moto server) the object is addressed path-style on that endpoint."""
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{bucket}/{key}"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{suffix}/{key}"


@dataclass
class Artifacts:
    """The region's artifact bucket as apply and plan reach it: the account (STS) and the
    bucket are looked up only when a step needs them."""

    clients: Clients
    region: str
    console: Console
    endpoint_url: str | None = None

    def bucket(self, configured: str | None, create: bool) -> ArtifactBucket:
        account = account_id(self.clients.sts)
        name = bucket_name(configured, account, self.region)
        bucket = ArtifactBucket(self.clients.s3, name, account, self.region)
        if create:
            bucket.ensure(self.console)
        elif not bucket.exists():
            raise UsageError(
                f"the template is over {INLINE_TEMPLATE_LIMIT:,} bytes and must be read from the "
                f"artifact bucket {name}, which does not exist yet: run ops apply first"
            )
        return bucket

    def template(self, body: str, configured: str | None, create: bool) -> str:
        """The TemplateURL of `body`, uploaded first when the bucket does not hold it."""
        return upload_template(self.bucket(configured, create), body, self.endpoint_url)

    def code(self, keys: list[str], configured: str | None) -> list[str]:
        return upload_code(self.bucket(configured, create=True), keys, self.console)
