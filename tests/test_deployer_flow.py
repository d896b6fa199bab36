"""The deployer against moto: uploads in, versions and aliases out, record by record."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.deployer.api import DeployApi
from functions.deployer.deploy import DUPLICATE, SAME_CODE, Settings, deploy_event
from functions.deployer.layout import AliasRecord
from functions.runtime.budget import TimeBudget
from ops.push import code_sha256, object_created_event

PRIMARY, REPLICA = "eu-west-1", "ap-northeast-1"
BUCKETS = {PRIMARY: "acme-functions-eu-west-1", REPLICA: "acme-functions-ap-northeast-1"}
OWN = "acme-ops-deployer-deployer"
SETTINGS = Settings(
    region=PRIMARY,
    prefix="deploy/",
    stages=("dev", "prod"),
    functions=("api", "worker-*"),
    own_function=OWN,
    buckets=BUCKETS,
    report_prefix="deploy-reports/",
)


def code(text: str) -> bytes:
    """A small function zip whose handler returns `text`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        # A fixed timestamp: the same text must give the same bytes (and CodeSha256).
        info = zipfile.ZipInfo("app.py", (2024, 1, 1, 0, 0, 0))
        archive.writestr(info, f"def handler(event, context):\n    return {text!r}\n")
    return out.getvalue()


class Region:
    """One moto region: its deploy bucket, functions, uploads and the events S3 would send."""

    def __init__(self, region: str) -> None:
        self.region, self.bucket = region, BUCKETS[region]
        self.lam = boto3.client("lambda", region_name=region)
        self.s3 = boto3.client("s3", region_name=region)
        self.s3.create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": region}
        )
        self.s3.put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        self.sequence = 0x100

    def function(self, name: str, text: str = "v0", alias: str | None = "dev") -> None:
        role = _role()
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code(text)},
        )
        if alias:
            version = self.lam.publish_version(FunctionName=name)["Version"]
            self.lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)

    def upload(self, key: str, data: bytes, checksum: bool = True) -> dict[str, Any]:
        """PUT like `ops push` (checksum + metadata) and return the event S3 would send."""
        extra: dict[str, Any] = {}
        if checksum:
            sha = code_sha256(data)
            extra = {"ChecksumAlgorithm": "SHA256", "Metadata": {"codesha256": sha}}
        put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        return self.event(key, put["VersionId"], len(data), put["ETag"].strip('"'))

    def event(self, key: str, version_id: str, size: int, etag: str = "e") -> dict[str, Any]:
        self.sequence += 1
        seq = f"{self.sequence:018X}"
        return object_created_event(self.region, self.bucket, key, version_id, size, etag, seq)

    def run(self, event: dict[str, Any], settings: Settings | None = None, lam: Any = None):
        settings = settings or replace(SETTINGS, region=self.region)
        api = DeployApi(lam or self.lam, self.s3)
        return deploy_event(event, settings, api, TimeBudget.seconds(120))

    def alias(self, name: str, stage: str = "dev") -> dict[str, Any]:
        return self.lam.get_alias(FunctionName=name, Name=stage)

    def versions(self, name: str) -> list[str]:
        found = self.lam.list_versions_by_function(FunctionName=name)["Versions"]
        return sorted(v["Version"] for v in found if v["Version"] != "$LATEST")

    def running_sha(self, name: str, stage: str = "dev") -> str:
        version = self.alias(name, stage)["FunctionVersion"]
        return self.lam.get_function(FunctionName=name, Qualifier=version)["Configuration"][
            "CodeSha256"
        ]


def _role() -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    try:
        return iam.get_role(RoleName="fn")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        doc = '{"Version":"2012-10-17","Statement":[]}'
        return iam.create_role(RoleName="fn", AssumeRolePolicyDocument=doc)["Role"]["Arn"]


def merge(*events: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [r for e in events for r in e["Records"]]}


class FailingSmoke:
    """A Lambda client whose Invoke answers as a failing function would (moto runs no code
    without Docker); every other call goes to moto."""

    def __init__(self, inner: Any, error: str | None = "Unhandled") -> None:
        self.inner, self.error, self.invoked = inner, error, []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invoked.append(kwargs)
        body = b'{"errorMessage": "boom"}' if self.error else b'"ok"'
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(body)}
        if self.error:
            answer["FunctionError"] = self.error
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def primary():
    with mock_aws():
        yield Region(PRIMARY)


def test_upload_updates_code_publishes_and_moves_the_alias(primary: Region) -> None:
    primary.function("api")
    new = code("v1")
    report = primary.run(primary.upload("deploy/dev/api.zip", new))
    [outcome] = report.outcomes
    assert (outcome.status, outcome.old_version, outcome.new_version) == ("deployed", "1", "2")
    alias = primary.alias("api")
    assert alias["FunctionVersion"] == "2"
    record = AliasRecord.parse(alias["Description"])
    assert record is not None and record.previous == "1" and record.version == "2"
    assert record.code_sha256 == code_sha256(new) == primary.running_sha("api")
    assert outcome.line() == "deployed api (dev): version 1 -> 2"


def test_the_report_lands_where_ops_push_looks(primary: Region) -> None:
    primary.function("api")
    event = primary.upload("deploy/dev/api.zip", code("v1"))
    version_id = event["Records"][0]["s3"]["object"]["versionId"]
    primary.run(event)
    key = f"deploy-reports/dev/api/{version_id}.json"
    body = primary.s3.get_object(Bucket=primary.bucket, Key=key)["Body"].read()
    assert b'"status": "deployed"' in body and b'"new_version": "2"' in body


def test_first_deploy_to_a_stage_creates_its_alias(primary: Region) -> None:
    primary.function("api", alias=None)
    report = primary.run(primary.upload("deploy/prod/api.zip", code("v1")))
    assert report.outcomes[0].status == "deployed"
    assert primary.alias("api", "prod")["FunctionVersion"] == "1"


def test_duplicate_event_costs_one_read_and_publishes_nothing(primary: Region) -> None:
    primary.function("api")
    event = primary.upload("deploy/dev/api.zip", code("v1"))
    primary.run(event)
    second = primary.run(event)
    assert [(o.status, o.reason) for o in second.outcomes] == [("skipped", DUPLICATE)]
    assert dict(second.api_calls) == {"GetAlias": 1}
    assert primary.versions("api") == ["1", "2"]


def test_older_upload_delivered_after_a_newer_one_is_ignored(primary: Region) -> None:
    primary.function("api")
    old = primary.upload("deploy/dev/api.zip", code("old"))
    new = primary.upload("deploy/dev/api.zip", code("new"))
    primary.run(new)
    late = primary.run(old)
    assert late.outcomes[0].status == "skipped"
    assert late.outcomes[0].reason.startswith("older upload")
    assert primary.running_sha("api") == code_sha256(code("new"))
    assert primary.versions("api") == ["1", "2"]


def test_reupload_of_running_code_is_remembered_so_a_late_older_upload_stays_out(
    primary: Region,
) -> None:
    primary.function("api")
    primary.run(primary.upload("deploy/dev/api.zip", code("x")))
    middle = primary.upload("deploy/dev/api.zip", code("y"))  # its event comes last
    again = primary.run(primary.upload("deploy/dev/api.zip", code("x")))
    assert [(o.status, o.reason) for o in again.outcomes] == [("skipped", SAME_CODE)]
    late = primary.run(middle)
    assert late.outcomes[0].reason.startswith("older upload")
    assert primary.running_sha("api") == code_sha256(code("x"))


@pytest.mark.parametrize(
    ("key", "data", "reason"),
    [
        ("deploy/qa/api.zip", code("v1"), "unknown stage 'qa'"),
        ("deploy/dev/billing.zip", code("v1"), "'billing' is not on the deployer's allow-list"),
        ("deploy/dev/worker-9.zip", code("v1"), "'worker-9' does not exist in eu-west-1"),
        ("deploy/api.zip", code("v1"), "outside the layout deploy/<stage>/<function>.zip"),
        ("deploy/dev/x/api.zip", code("v1"), "outside the layout"),
        ("deploy/dev/api.zip", b"PK\x03\x04 this is not a zip", "not a valid zip"),
        ("deploy/dev/api.zip", code("")[:-30], "not a valid zip"),
    ],
    ids=["stage", "allow-list", "missing", "layout", "nested", "not-zip", "truncated"],
)
def test_bad_uploads_are_rejected_and_change_nothing(
    primary: Region, key: str, data: bytes, reason: str
) -> None:
    primary.function("api")
    before = primary.alias("api")
    report = primary.run(primary.upload(key, data))
    [outcome] = report.outcomes
    assert outcome.status == "rejected" and reason in outcome.reason
    after = primary.alias("api")
    assert (after["FunctionVersion"], after.get("Description")) == ("1", before.get("Description"))
    assert primary.versions("api") == ["1"]
    assert "UpdateFunctionCode" not in report.api_calls


def test_an_upload_to_another_bucket_is_rejected(primary: Region) -> None:
    primary.function("api")
    event = primary.upload("deploy/dev/api.zip", code("v1"))
    event["Records"][0]["s3"]["bucket"]["name"] = "someone-elses"
    assert "is not the deploy bucket of eu-west-1" in primary.run(event).outcomes[0].reason


def test_keys_are_url_decoded(primary: Region) -> None:
    primary.function("worker-1")
    event = primary.upload("deploy/dev/worker-1.zip", code("v1"))
    event["Records"][0]["s3"]["object"]["key"] = "deploy%2Fdev%2Fworker%2D1.zip"
    assert primary.run(event).outcomes[0].status == "deployed"


def test_every_record_of_an_event_is_handled(primary: Region) -> None:
    primary.function("api")
    primary.function("worker-a")
    event = merge(
        primary.upload("deploy/dev/api.zip", code("a1")),
        primary.upload("deploy/nope/api.zip", code("a2")),
        primary.upload("deploy/dev/worker-a.zip", code("w1")),
    )
    report = primary.run(event)
    assert [o.status for o in report.outcomes] == ["deployed", "rejected", "deployed"]
    assert primary.running_sha("api") == code_sha256(code("a1"))
    assert primary.running_sha("worker-a") == code_sha256(code("w1"))


def test_a_failing_smoke_test_leaves_the_alias(primary: Region) -> None:
    primary.function("api")
    smoke = FailingSmoke(primary.lam)
    settings = replace(SETTINGS, smoke_test=True, smoke_event={"ping": 1})
    report = primary.run(primary.upload("deploy/dev/api.zip", code("v1")), settings, smoke)
    [outcome] = report.outcomes
    assert outcome.status == "failed" and "smoke test of version 2 failed" in outcome.reason
    assert report.failed
    assert primary.alias("api")["FunctionVersion"] == "1"
    assert smoke.invoked[0]["Qualifier"] == "2" and smoke.invoked[0]["Payload"] == b'{"ping": 1}'


def test_a_passing_smoke_test_moves_the_alias(primary: Region) -> None:
    primary.function("api")
    smoke = FailingSmoke(primary.lam, error=None)
    settings = replace(SETTINGS, smoke_test=True)
    report = primary.run(primary.upload("deploy/dev/api.zip", code("v1")), settings, smoke)
    assert report.outcomes[0].status == "deployed" and len(smoke.invoked) == 1
    assert primary.alias("api")["FunctionVersion"] == "2"


def test_an_upload_without_checksum_is_hashed_from_the_object(primary: Region) -> None:
    primary.function("api")
    report = primary.run(primary.upload("deploy/dev/api.zip", code("v1"), checksum=False))
    assert report.outcomes[0].status == "deployed"
    assert report.api_calls["GetObject"] == 1
    assert primary.running_sha("api") == code_sha256(code("v1"))


def test_the_deployer_deploys_itself_without_smoke_testing_itself(primary: Region) -> None:
    from ops.package import build_bundle

    primary.function(OWN, alias=None)
    primary.lam.create_alias(FunctionName=OWN, Name="prod", FunctionVersion="$LATEST")
    smoke = FailingSmoke(primary.lam)  # would fail the deploy if it were invoked
    own = build_bundle("deployer").zip_bytes()
    settings = replace(SETTINGS, smoke_test=True)
    report = primary.run(primary.upload(f"deploy/prod/{OWN}.zip", own), settings, smoke)
    [outcome] = report.outcomes
    assert (outcome.status, outcome.old_version, outcome.new_version) == (
        "deployed",
        "$LATEST",
        "1",
    )
    assert smoke.invoked == []
    assert primary.running_sha(OWN, "prod") == code_sha256(own)


def test_replication_carries_the_upload_to_the_replica_deployer() -> None:
    with mock_aws():
        primary, replica = Region(PRIMARY), Region(REPLICA)
        for region in (primary, replica):
            region.function("api")
        new = code("v1")
        primary.run(primary.upload("deploy/dev/api.zip", new))
        # What CRR does: the same bytes and metadata land in the replica bucket, whose own
        # notification then invokes the replica's deployer.
        copied = replica.s3.copy_object(
            Bucket=replica.bucket,
            Key="deploy/dev/api.zip",
            CopySource={"Bucket": primary.bucket, "Key": "deploy/dev/api.zip"},
            MetadataDirective="COPY",
        )
        event = replica.event("deploy/dev/api.zip", copied["VersionId"], len(new))
        assert primary.run(event).outcomes[0].status == "rejected"  # not its bucket
        report = replica.run(event)
        assert report.outcomes[0].status == "deployed"
        assert replica.running_sha("api") == primary.running_sha("api") == code_sha256(new)


def test_the_handler_rejects_a_malformed_event_without_side_effects(
    primary: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from functions.deployer import handler

    monkeypatch.setenv("OPS_JOB", json.dumps(_job()))
    primary.function("api")

    class Context:
        aws_request_id = "r-1"

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    with pytest.raises(ValueError, match="not an S3 notification"):
        handler.handler({"detail": {}}, Context())
    assert primary.versions("api") == ["1"]
    result = handler.handler(primary.upload("deploy/dev/api.zip", code("v1")), Context())
    assert result["deployed"] == 1 and primary.alias("api")["FunctionVersion"] == "2"


def _job() -> dict[str, Any]:
    return {
        "prefix": "deploy/",
        "stages": ["dev", "prod"],
        "functions": ["api", "worker-*"],
        "own_function": OWN,
        "buckets": BUCKETS,
        "report_prefix": "deploy-reports/",
        "smoke_test": False,
        "smoke_event": {},
    }
