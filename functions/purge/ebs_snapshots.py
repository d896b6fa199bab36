"""`target = "ebs-snapshots"`: delete the account's own tagged snapshots once they are old.

`DescribeSnapshots(OwnerIds=["self"])` with one `tag:KEY` filter per selection tag (and the tags
checked again on each snapshot, because EC2 filter values treat `*` and `?` as wildcards while
the role's `aws:ResourceTag` condition compares exactly). Never deleted:
- a snapshot in the block device mappings of any AMI the account owns, disabled AMIs included
  (`DescribeImages(Owners=["self"], IncludeDisabled=True)`);
- a snapshot whose description names an AMI that still exists ("Created by CreateImage(i-…) for
  ami-…", "Copied for DestinationAmi ami-…"): such a snapshot belongs to that AMI even when it is
  not among its mappings any more;
- one not yet `completed`, or started less than `older_than` ago.
Candidates are deleted oldest first after everything is planned; `InvalidSnapshot.InUse` and
other per-snapshot errors are recorded and the rest go on. Calls are paced (`max_rate`, EC2's
request buckets are account-wide) and retried on `RequestLimitExceeded`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from functions.purge.pacing import Clock, PacedClient
from functions.purge.planning import Deletion, TargetRun, parse_time
from functions.purge.report import PurgeReport
from functions.purge.settings import PacedSettings
from functions.runtime.budget import TimeBudget

TARGET = "ebs-snapshots"  # the purge target this module runs (functions.runtime.registry)
GONE = frozenset({"InvalidSnapshot.NotFound"})
AMI_ID = re.compile(r"\bami-[0-9a-f]{8,17}\b")


@dataclass(frozen=True)
class Snapshot:
    id: str
    started: datetime


@dataclass(frozen=True)
class Images:
    """The account's AMIs in this region: their ids and the snapshots they are made of."""

    ids: frozenset[str]
    snapshots: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class EbsSnapshotsSettings(PacedSettings):
    """An ebs-snapshots job's `$OPS_JOB` (ops/models/purge.py::EbsSnapshotsPurge)."""

    tags: Mapping[str, str] = field(default_factory=dict)  # the model requires some


Settings = EbsSnapshotsSettings  # the job's view (functions/purge/handler.py reads it)


def run(
    job: EbsSnapshotsSettings,
    *,
    now: datetime,
    budget: TimeBudget,
    event: dict[str, Any],
    ec2_client: Any = None,
    clock: Clock | None = None,
) -> PurgeReport:
    # A continued run lists again: what was deleted is gone, so the state is the cursor.
    purge = TargetRun.start(job, TARGET, event, cursor_keys=(), clock=clock)
    report = purge.report
    ec2 = purge.paced(ec2_client, "ec2")
    tags = dict(job.tags)
    if not tags:  # the model requires tags; refuse rather than select every snapshot
        report.stop("failed", "no selection tags in the job: refusing to purge every snapshot")
        return report
    images = own_images(ec2)
    candidates = plan(tagged_snapshots(ec2, tags), images, tags, job, now, report)
    execute(purge, candidates, ec2, budget)
    return report


def own_images(ec2: PacedClient) -> Images:
    ids: set[str] = set()
    snapshots: set[str] = set()
    for image in _own(ec2, "describe_images", "Images", Owners=["self"], IncludeDisabled=True):
        ids.add(image["ImageId"])
        for mapping in image.get("BlockDeviceMappings", []):
            if mapping.get("Ebs", {}).get("SnapshotId"):
                snapshots.add(mapping["Ebs"]["SnapshotId"])
    return Images(frozenset(ids), frozenset(snapshots))


def tagged_snapshots(ec2: PacedClient, tags: dict[str, str]) -> list[dict[str, Any]]:
    filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in sorted(tags.items())]
    return list(
        _own(
            ec2,
            "describe_snapshots",
            "Snapshots",
            OwnerIds=["self"],
            Filters=filters,
            MaxResults=1000,
        )
    )


def _own(ec2: PacedClient, method: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every entry of an EC2 listing (EC2 pages with `NextToken` both ways)."""
    return ec2.items(method, key, token="NextToken", next_token="NextToken", **params)


def plan(
    snapshots: list[dict[str, Any]],
    images: Images,
    tags: dict[str, str],
    job: EbsSnapshotsSettings,
    now: datetime,
    report: PurgeReport,
) -> list[Snapshot]:
    cutoff = now - job.age
    candidates = []
    for raw in snapshots:
        if not has_tags(raw, tags):
            continue  # matched a wildcard in the filter, not the exact tag: not selected
        report.examined += 1
        reason = keep_reason(raw, images, cutoff)
        if reason:
            report.keep(reason)
        else:
            candidates.append(Snapshot(raw["SnapshotId"], parse_time(raw["StartTime"])))
    return candidates


def has_tags(snapshot: dict[str, Any], tags: dict[str, str]) -> bool:
    own = {t["Key"]: t["Value"] for t in snapshot.get("Tags", [])}
    return all(own.get(k) == v for k, v in tags.items())


def keep_reason(snapshot: dict[str, Any], images: Images, cutoff: datetime) -> str | None:
    if snapshot["SnapshotId"] in images.snapshots:
        return "backs-ami"
    if images.ids.intersection(AMI_ID.findall(snapshot.get("Description") or "")):
        return "created-for-ami"
    if snapshot.get("State") != "completed":
        return "not-completed"
    if parse_time(snapshot["StartTime"]) >= cutoff:
        return "younger-than-cutoff"
    return None


def execute(
    purge: TargetRun, candidates: list[Snapshot], ec2: PacedClient, budget: TimeBudget
) -> None:
    ordered = sorted(candidates, key=lambda s: (s.started, s.id))
    allowed, done = purge.delete(ordered, partial(_deletion, ec2), budget, gone=GONE)
    if done < len(allowed) and purge.report.status != "capped":
        purge.hand_on(f"time budget reached, {len(allowed) - done} left")


def _deletion(ec2: PacedClient, snapshot: Snapshot) -> Deletion:
    return Deletion(snapshot.id, lambda: ec2.call("delete_snapshot", SnapshotId=snapshot.id))
