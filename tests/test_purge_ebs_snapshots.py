"""ebs-snapshots purge against moto: tags, age, AMIs (enabled and disabled), caps, errors."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.purge import ebs_snapshots
from tests.purge_helpers import DAY, NOW, FakeClock, FaultyClient, job_for, run_target

JOB = job_for(
    name="nightly-snapshots", target="ebs-snapshots", tags={"backup": "nightly"}, older_than="30d"
)


class Ec2(FaultyClient):
    """moto's EC2 client, plus what moto does not model and injected faults.

    moto stamps snapshots with the time they were made and has no DisableImage, so this wrapper
    back-dates snapshots and hides "disabled" AMIs unless DescribeImages asks for them with
    IncludeDisabled=True, as EC2 does.
    """

    THROTTLE = ("RequestLimitExceeded", 503)

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.ages: dict[str, timedelta] = {}
        self.disabled: set[str] = set()

    def describe_snapshots(self, **params: Any) -> Any:
        self.record("describe_snapshots")
        page = self.real.describe_snapshots(**params)
        for snapshot in page["Snapshots"]:
            snapshot["StartTime"] = NOW - self.ages.get(snapshot["SnapshotId"], 60 * DAY)
        return page

    def describe_images(self, IncludeDisabled: bool = False, **params: Any) -> Any:
        self.record("describe_images")
        page = self.real.describe_images(**params)
        if not IncludeDisabled:
            page["Images"] = [i for i in page["Images"] if i["ImageId"] not in self.disabled]
        return page

    def delete_snapshot(self, SnapshotId: str) -> Any:
        self.record("delete_snapshot")
        self.fail_if_broken(SnapshotId)
        return self.real.delete_snapshot(SnapshotId=SnapshotId)


def snapshot(real: Any, volume: str, tags: dict[str, str], description: str = "") -> str:
    spec = [{"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    extra = {"TagSpecifications": spec} if tags else {}
    return str(
        real.create_snapshot(VolumeId=volume, Description=description, **extra)["SnapshotId"]
    )


def image(real: Any, name: str, tags: dict[str, str]) -> tuple[str, str]:
    """An AMI made from an instance (moto's RegisterImage ignores given mappings) and the id of
    the snapshot it is made of, tagged like the job's selection."""
    source = real.register_image(Name=f"{name}-base", RootDeviceName="/dev/xvda")["ImageId"]
    instance = real.run_instances(ImageId=source, MinCount=1, MaxCount=1)["Instances"][0]
    ami = real.create_image(InstanceId=instance["InstanceId"], Name=name)["ImageId"]
    [mapping] = real.describe_images(ImageIds=[ami])["Images"][0]["BlockDeviceMappings"]
    snap = mapping["Ebs"]["SnapshotId"]
    real.create_tags(Resources=[snap], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return str(ami), str(snap)


@pytest.fixture
def estate(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # thousands of AMIs: slow, unused
    with mock_aws():
        real = boto3.client("ec2")
        volume = real.create_volume(AvailabilityZone="eu-west-1a", Size=8)["VolumeId"]
        nightly = {"backup": "nightly"}
        ids: dict[str, str] = {}
        for name in ("old", "older", "young"):
            ids[name] = snapshot(real, volume, nightly)
        ids["untagged"] = snapshot(real, volume, {})
        ids["weekly"] = snapshot(real, volume, {"backup": "weekly"})
        live, ids["in-ami"] = image(real, "live", nightly)
        disabled, ids["in-disabled-ami"] = image(real, "retired", nightly)
        gone = real.register_image(Name="gone", RootDeviceName="/dev/xvda")["ImageId"]
        real.deregister_image(ImageId=gone)
        made_for = "Created by CreateImage(i-0abc) for {}"
        ids["for-ami"] = snapshot(real, volume, nightly, made_for.format(live))
        ids["for-gone"] = snapshot(real, volume, nightly, made_for.format(gone))
        client = Ec2(real)
        client.disabled.add(disabled)
        client.ages.update(
            {ids["young"]: 2 * DAY, ids["older"]: 90 * DAY, ids["for-gone"]: 45 * DAY}
        )
        yield client, ids


def remaining(client: Ec2, ids: dict[str, str]) -> set[str]:
    existing = {
        s["SnapshotId"] for s in client.real.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    }
    return {name for name, sid in ids.items() if sid in existing}


def run(client: Ec2, job: dict[str, Any] | None = None, **kw: Any) -> Any:
    return run_target(ebs_snapshots.run, JOB, job, ec2_client=client, **kw)


ALL = {
    "old",
    "older",
    "young",
    "in-ami",
    "in-disabled-ami",
    "for-ami",
    "for-gone",
    "untagged",
    "weekly",
}
PROTECTED = {"young", "in-ami", "in-disabled-ami", "for-ami", "untagged", "weekly"}


def test_only_old_tagged_snapshots_no_ami_uses_are_deleted(estate) -> None:
    client, ids = estate
    report = run(client)
    assert remaining(client, ids) == PROTECTED
    assert report.status == "finished" and report.deleted == 3 and report.examined == 7
    assert dict(report.kept) == {"backs-ami": 2, "created-for-ami": 1, "younger-than-cutoff": 1}


def test_a_disabled_ami_protects_its_snapshot_until_it_is_deregistered(estate) -> None:
    client, ids = estate
    run(client)
    assert "in-disabled-ami" in remaining(client, ids)  # hidden without IncludeDisabled=True
    [retired] = client.disabled
    client.real.deregister_image(ImageId=retired)
    report = run(client)
    assert "in-disabled-ami" not in remaining(client, ids) and report.deleted == 1


def test_dry_run_deletes_nothing_and_lists_the_candidates(estate) -> None:
    client, ids = estate
    report = run(client, {"dry_run": True})
    assert remaining(client, ids) == ALL
    assert sorted(report.candidates) == sorted(ids[n] for n in ("old", "older", "for-gone"))
    assert report.deleted == 3 and "delete_snapshot" not in client.calls


def test_the_cap_deletes_the_oldest_only_and_says_capped(estate) -> None:
    client, ids = estate
    report = run(client, {"max_deletes": 1})
    assert remaining(client, ids) == PROTECTED | {"old", "for-gone"}  # "older" (90 days) went
    assert report.status == "capped" and report.deleted == 1 and report.kept["over-cap"] == 2


def test_throttling_and_a_snapshot_in_use_do_not_stop_the_rest(estate) -> None:
    client, ids = estate
    client.throttle["delete_snapshot"] = 2
    client.throttle["describe_snapshots"] = 1
    client.broken[ids["older"]] = "InvalidSnapshot.InUse"
    report = run(client)
    assert remaining(client, ids) == PROTECTED | {"older"}
    assert dict(report.failed) == {"InvalidSnapshot.InUse": 1}
    assert report.failures[0]["item"] == ids["older"]
    assert report.retries["RequestLimitExceeded"] == 3 and report.deleted == 2


def test_a_snapshot_deleted_by_someone_else_is_not_a_failure(estate) -> None:
    client, ids = estate
    client.broken[ids["old"]] = "InvalidSnapshot.NotFound"
    report = run(client)
    assert report.failed_count == 0 and report.kept["already-gone"] == 1


def test_out_of_time_stops_with_a_cursor_and_the_next_run_finishes(estate) -> None:
    client, ids = estate
    clock = FakeClock()  # 5 requests/s: two listings at 0 and 0.2, deletions at 0.4, 0.6
    first = run(client, budget=clock.budget(0.5), clock=clock)
    assert first.status == "stopped-early" and first.deleted == 2
    assert json.loads(first.cursor) == {"deleted": 2}
    second = run(client, {"max_deletes": 3}, event={"cursor": first.cursor})
    assert second.status == "finished" and second.deleted == 1
    assert remaining(client, ids) == PROTECTED


def test_a_malformed_cursor_changes_nothing(estate) -> None:
    client, ids = estate
    with pytest.raises(ValueError, match="malformed purge cursor"):
        run(client, event={"cursor": '{"deleted": "many"}'})
    assert client.calls == [] and remaining(client, ids) == ALL


def test_selection_is_exact_even_where_ec2_filters_take_wildcards() -> None:
    tagged = {"SnapshotId": "snap-1", "Tags": [{"Key": "backup", "Value": "nightly-db"}]}
    assert not ebs_snapshots.has_tags(tagged, {"backup": "nightly*"})
    assert ebs_snapshots.has_tags(tagged, {"backup": "nightly-db"})
