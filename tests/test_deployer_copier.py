"""The delayed replica's copier on moto: only uploads older than the delay reach the replica
bucket, pinned to the version that was latest then, once; withdrawn uploads never do."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto.s3.models
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.deployer import copier
from functions.deployer.copier import CopierSettings, CopyFailed, Entry, decide
from functions.runtime.budget import TimeBudget

PRIMARY, DR = "eu-west-1", "us-west-2"
SOURCE, REPLICA = "acme-deploy-eu-west-1", "acme-deploy-us-west-2"
KEY = "deploy/prod/worker.zip"
SETTINGS = CopierSettings(SOURCE, PRIMARY, REPLICA, "deploy/", timedelta(hours=1))
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Clock:
    """moto's S3 clock, moved by the test: uploads get the LastModified the test chooses."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now.replace(tzinfo=None)  # moto keeps naive UTC


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(moto.s3.models, "utcnow", clock)
    return clock


@pytest.fixture
def s3() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        source = boto3.client("s3", region_name=PRIMARY)
        target = boto3.client("s3", region_name=DR)
        for client, bucket, region in ((source, SOURCE, PRIMARY), (target, REPLICA, DR)):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        yield source, target


def upload(source: Any, key: str, body: bytes) -> str:
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    answer = source.put_object(
        Bucket=SOURCE,
        Key=key,
        Body=body,
        Metadata={"codesha256": sha},
        ContentType="application/zip",
    )
    return str(answer["VersionId"])


def run(source: Any, target: Any, at: datetime, **kwargs: Any) -> dict[str, Any]:
    report = copier.run(SETTINGS, source, target, TimeBudget.seconds(60), now=at, **kwargs)
    return report.as_dict()


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {item["key"]: item["outcome"] for item in report["items"]}


def replica_versions(target: Any, key: str = KEY) -> list[dict[str, Any]]:
    return target.list_object_versions(Bucket=REPLICA, Prefix=key).get("Versions", [])


def test_an_upload_younger_than_the_delay_waits(s3: tuple[Any, Any], clock: Clock) -> None:
    source, target = s3
    upload(source, KEY, b"v1")
    report = run(source, target, T0 + timedelta(minutes=59))
    assert outcomes(report) == {KEY: "waiting"}
    assert replica_versions(target) == []


def test_an_old_enough_upload_is_copied_pinned_with_its_checksum_once(
    s3: tuple[Any, Any], clock: Clock
) -> None:
    source, target = s3
    version = upload(source, KEY, b"v1")
    report = run(source, target, T0 + timedelta(hours=1))
    assert outcomes(report) == {KEY: "copied"} and report["items"][0]["version_id"] == version
    copy = target.head_object(Bucket=REPLICA, Key=KEY)
    assert target.get_object(Bucket=REPLICA, Key=KEY)["Body"].read() == b"v1"
    sha = base64.b64encode(hashlib.sha256(b"v1").digest()).decode()
    assert copy["Metadata"]["codesha256"] == sha  # what the DR deployer checks
    assert copy["Metadata"]["ops-source-version"] == version
    assert copy["Metadata"]["ops-source-region"] == PRIMARY
    again = run(source, target, T0 + timedelta(hours=2))  # the next schedule, or a retry
    assert outcomes(again) == {KEY: "current"}
    assert len(replica_versions(target)) == 1  # nothing copied twice


def test_a_run_with_everything_current_makes_no_per_key_call(
    s3: tuple[Any, Any], clock: Clock
) -> None:
    source, target = s3
    keys = [f"deploy/prod/fn-{i}.zip" for i in range(5)]
    for key in keys:
        upload(source, key, key.encode())
    run(source, target, T0 + timedelta(hours=1))
    calls: list[str] = []
    for client in (source, target):
        client.meta.events.register("before-call.s3", lambda model, **kw: calls.append(model.name))
    again = run(source, target, T0 + timedelta(hours=2))
    assert outcomes(again) == dict.fromkeys(keys, "current")
    assert sorted(calls) == ["ListObjectVersions", "ListObjectsV2"]  # one page each, no HEADs


def test_the_version_latest_at_the_cutoff_is_copied_not_a_newer_one(
    s3: tuple[Any, Any], clock: Clock
) -> None:
    source, target = s3
    old = upload(source, KEY, b"v1")
    clock.now = T0 + timedelta(minutes=50)
    upload(source, KEY, b"v2")  # the bad build, uploaded after v1
    report = run(source, target, T0 + timedelta(hours=1, minutes=10))
    assert report["items"][0] == {"key": KEY, "outcome": "copied", "version_id": old}
    assert target.get_object(Bucket=REPLICA, Key=KEY)["Body"].read() == b"v1"


def test_deleting_an_upload_before_the_delay_stops_it(s3: tuple[Any, Any], clock: Clock) -> None:
    source, target = s3
    upload(source, KEY, b"v1")
    clock.now = T0 + timedelta(minutes=10)
    source.delete_object(Bucket=SOURCE, Key=KEY)  # a delete marker: withdrawn
    assert outcomes(run(source, target, T0 + timedelta(hours=3))) == {KEY: "withdrawn"}
    assert replica_versions(target) == []


def test_deleting_the_bad_version_keeps_the_replica_on_the_good_one(
    s3: tuple[Any, Any], clock: Clock
) -> None:
    source, target = s3
    upload(source, KEY, b"good")
    run(source, target, T0 + timedelta(hours=1))
    clock.now = T0 + timedelta(hours=1, minutes=5)
    bad = upload(source, KEY, b"bad")
    source.delete_object(Bucket=SOURCE, Key=KEY, VersionId=bad)
    assert outcomes(run(source, target, T0 + timedelta(hours=5))) == {KEY: "current"}
    assert len(replica_versions(target)) == 1


def test_the_replica_never_moves_back(s3: tuple[Any, Any], clock: Clock) -> None:
    source, target = s3
    upload(source, KEY, b"v1")
    clock.now = T0 + timedelta(hours=1)
    v2 = upload(source, KEY, b"v2")
    run(source, target, T0 + timedelta(hours=2))  # v2 copied
    source.delete_object(Bucket=SOURCE, Key=KEY, VersionId=v2)  # v1 is the primary's latest again
    assert outcomes(run(source, target, T0 + timedelta(hours=3))) == {KEY: "ahead"}
    assert target.get_object(Bucket=REPLICA, Key=KEY)["Body"].read() == b"v2"


def test_an_upload_made_in_the_replica_region_directly_is_not_overwritten_by_an_older_one(
    s3: tuple[Any, Any], clock: Clock
) -> None:
    source, target = s3
    upload(source, KEY, b"primary")
    clock.now = T0 + timedelta(minutes=30)
    target.put_object(Bucket=REPLICA, Key=KEY, Body=b"hotfix in DR")
    assert outcomes(run(source, target, T0 + timedelta(hours=2))) == {KEY: "ahead"}


def test_every_page_is_listed_and_each_key_decided_on_its_own(
    s3: tuple[Any, Any], clock: Clock
) -> None:
    source, target = s3
    keys = [f"deploy/prod/fn-{i}.zip" for i in range(5)]
    for key in keys:
        upload(source, key, key.encode())
    source.put_object(Bucket=SOURCE, Key="reports/x.json", Body=b"{}")  # outside the prefix
    report = run(source, target, T0 + timedelta(hours=1), page_size=2)
    assert outcomes(report) == dict.fromkeys(keys, "copied")


class FailingOn:
    """The replica's client, with CopyObject of one key answering `code`."""

    def __init__(self, inner: Any, key: str, code: str) -> None:
        self.inner, self.key, self.code = inner, key, code

    def copy_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == self.key:
            error = {"Error": {"Code": self.code, "Message": "injected"}}
            raise ClientError(error, "CopyObject")
        return self.inner.copy_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_one_key_failing_does_not_stop_the_others(s3: tuple[Any, Any], clock: Clock) -> None:
    source, target = s3
    for key in ("deploy/prod/a.zip", "deploy/prod/b.zip", "deploy/prod/c.zip"):
        upload(source, key, key.encode())
    report = run(
        source, FailingOn(target, "deploy/prod/b.zip", "AccessDenied"), T0 + timedelta(hours=1)
    )
    assert outcomes(report) == {
        "deploy/prod/a.zip": "copied",
        "deploy/prod/b.zip": "failed",
        "deploy/prod/c.zip": "copied",
    }
    assert report["status"] == "failed"
    assert "AccessDenied" in next(i["error"] for i in report["items"] if i["outcome"] == "failed")


def test_a_version_deleted_during_the_run_is_withdrawn_not_failed(
    s3: tuple[Any, Any], clock: Clock
) -> None:
    source, target = s3
    upload(source, KEY, b"v1")
    report = run(source, FailingOn(target, KEY, "NoSuchVersion"), T0 + timedelta(hours=1))
    assert outcomes(report) == {KEY: "withdrawn"} and report["status"] == "ok"


def test_keys_past_the_time_budget_are_deferred(s3: tuple[Any, Any], clock: Clock) -> None:
    source, target = s3
    upload(source, KEY, b"v1")
    report = copier.run(
        SETTINGS, source, target, TimeBudget.seconds(0), now=T0 + timedelta(hours=1)
    )
    assert outcomes(report.as_dict()) == {KEY: "deferred"}
    assert replica_versions(target) == []


def entry(minute: int, marker: bool = False, latest: bool = False) -> Entry:
    return Entry(KEY, f"v{minute}", T0 + timedelta(minutes=minute), latest, marker)


@pytest.mark.parametrize(
    ("rows", "cutoff", "verdict", "version"),
    [
        ([entry(30, latest=True)], 0, "waiting", None),  # younger than the cutoff
        ([entry(0, latest=True)], 0, "copy", "v0"),  # exactly as old as the delay
        ([entry(40, latest=True), entry(10)], 30, "copy", "v10"),
        ([entry(40, marker=True, latest=True), entry(10)], 60, "withdrawn", None),
        ([entry(40, latest=True), entry(20, marker=True), entry(10)], 30, "waiting", None),
    ],
)
def test_decide(rows: list[Entry], cutoff: int, verdict: str, version: str | None) -> None:
    decided, chosen = decide(rows, T0 + timedelta(minutes=cutoff))
    assert decided == verdict
    assert (chosen.version_id if chosen else None) == version


class Context:
    function_name = "acme-ops-deployer-deployer-copier"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def job_env(monkeypatch: pytest.MonkeyPatch) -> None:
    job = {
        "source_bucket": SOURCE,
        "source_region": PRIMARY,
        "bucket": REPLICA,
        "prefix": "deploy/",
        "delay": 3600,
    }
    monkeypatch.setenv("OPS_JOB", json.dumps(job))
    monkeypatch.setenv("AWS_REGION", DR)


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{"eventSource": "aws:s3"}]},
        {"awslogs": {"data": "H4sI"}},
        {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"},
        "not an object",
    ],
)
def test_any_event_but_a_schedule_is_rejected_before_any_call(
    job_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], event: Any
) -> None:
    def no_client(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a rejected event built an AWS client")

    monkeypatch.setattr(copier.aws, "client", no_client)
    result = copier.handler(event, Context())
    assert result["status"] == "rejected"
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [doc.get("Rejected") for doc in emitted] == [1]


def test_the_handler_copies_on_its_schedule_and_fails_the_run_on_a_failed_key(
    s3: tuple[Any, Any], clock: Clock, job_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = s3
    clock.now = datetime.now(UTC) - timedelta(hours=2)  # the handler reads the clock
    upload(source, KEY, b"v1")
    result = copier.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())
    assert result["counts"]["copied"] == 1
    upload(source, "deploy/prod/other.zip", b"x")

    def clients(service: str, region: str | None = None, **kwargs: Any) -> Any:
        inner = boto3.client(service, region_name=region or DR)
        return FailingOn(inner, "deploy/prod/other.zip", "SlowDown")

    monkeypatch.setattr(copier.aws, "client", clients)
    with pytest.raises(CopyFailed, match="1 key"):
        copier.handler({}, Context())  # EventBridge Scheduler's empty payload is a schedule
    assert target.get_object(Bucket=REPLICA, Key=KEY)["Body"].read() == b"v1"
