"""The S3 purge against moto: pages, cutoff, awkward keys, per-key errors, dry run, time budget,
versioned buckets, caps, exclude, and a property test of the selection on an in-memory S3.

Object ages are set on moto's stored objects and `now` is passed to `run`, so no test waits for
the clock and the cutoff can be hit to the second.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from functions.purge import s3 as purge
from functions.purge.s3 import Pacer
from functions.runtime.budget import TimeBudget
from tests.purge_helpers import job_for

BUCKET = "acme-media"
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)  # `now` of every run
HOUR = timedelta(hours=1)
JOB = job_for(name="tmp-images", target="s3", bucket=BUCKET, prefix="tmp/", older_than="1h")


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["global"]


def put(keys: list[str], age: timedelta) -> None:
    """Store objects last modified `age` before T0 (moto's own put, minus the HTTP round trip)."""
    when = (T0 - age).replace(tzinfo=None)
    for key in keys:
        backend().put_object(BUCKET, key, b"x").last_modified = when


def age_versions(key: str, ages: list[timedelta]) -> None:
    """Set the ages of a key's versions and delete markers, oldest first."""
    entries = backend().get_bucket(BUCKET).keys.getlist(key)
    assert len(entries) == len(ages)
    for entry, age in zip(entries, ages, strict=True):
        entry.last_modified = (T0 - age).replace(tzinfo=None)


def keys_left(s3: Any) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    return [
        o["Key"] for page in paginator.paginate(Bucket=BUCKET) for o in page.get("Contents", [])
    ]


def run(s3: Any, budget: TimeBudget | None = None, event: dict | None = None, **changes: Any):
    job = {**JOB, **changes}
    budget = budget or TimeBudget.seconds(600)
    return purge.run(purge.Settings.from_job(job), now=T0, budget=budget, event=event or {}, s3=s3)


def countdown(checks: int) -> TimeBudget:
    """A budget that runs out after `checks` checks by the run's own thread (not the workers'),
    so where a run stops does not depend on the machine's speed."""
    calls = {"n": 0}

    def remaining_ms() -> int:
        if threading.current_thread() is threading.main_thread():
            calls["n"] += 1
        return 60_000 if calls["n"] <= checks else 5_000

    return TimeBudget(remaining_ms, reserve_seconds=10)


class FailingDeletes:
    """The moto client, except that DeleteObjects answers for some keys with a per-key error,
    as S3 does (HTTP 200, `Errors` in the body). `transient` keys fail once, then succeed."""

    def __init__(self, client: Any, denied: set[str], transient: set[str] = frozenset()) -> None:
        self._client, self.denied, self.transient = client, denied, set(transient)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        errors = []
        for obj in Delete["Objects"]:
            if obj["Key"] in self.denied:
                errors.append(
                    {"Key": obj["Key"], "Code": "AccessDenied", "Message": "Access Denied"}
                )
            elif obj["Key"] in self.transient:
                self.transient.discard(obj["Key"])
                errors.append({"Key": obj["Key"], "Code": "InternalError", "Message": "try again"})
        failing = {e["Key"] for e in errors}
        rest = [o for o in Delete["Objects"] if o["Key"] not in failing]
        reply = self._client.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": rest})
        return {**reply, "Errors": [*reply.get("Errors", []), *errors]}


# Pages, prefix, cutoff, keys -------------------------------------------------------------------


def test_2600_old_objects_go_in_pages_with_two_calls_per_thousand(s3) -> None:
    put([f"tmp/{i:05d}.jpg" for i in range(2600)], age=2 * HOUR)
    put(["tmpfile.jpg", "other/old.jpg", "tmp"], age=2 * HOUR)  # outside "tmp/"
    report = run(s3)
    assert keys_left(s3) == ["other/old.jpg", "tmp", "tmpfile.jpg"]
    assert (report.status, report.examined, report.deleted, report.cursor) == (
        "finished",
        2600,
        2600,
        None,
    )
    assert report.api_calls == {"GetBucketVersioning": 1, "ListObjectsV2": 3, "DeleteObjects": 3}


def test_an_object_exactly_at_the_cutoff_is_kept_one_second_older_is_deleted(s3) -> None:
    put(["tmp/at-cutoff"], age=HOUR)
    put(["tmp/one-second-older"], age=HOUR + timedelta(seconds=1))
    put(["tmp/young"], age=timedelta(minutes=59))
    report = run(s3)
    assert keys_left(s3) == ["tmp/at-cutoff", "tmp/young"]
    assert report.deleted == 1 and report.kept == {"too-young": 2}


def test_keys_with_spaces_unicode_and_plus_are_deleted_and_neighbours_kept(s3) -> None:
    awkward = ["tmp/a b.jpg", "tmp/ünï cødé/ß.png", "tmp/a+b=c&d.txt", "tmp/100%25 real", "tmp/ "]
    put(awkward, age=2 * HOUR)
    put(["tmp+x/a b.jpg", "tmp /x"], age=2 * HOUR)  # look alike, outside the prefix
    report = run(s3)
    assert sorted(keys_left(s3)) == ["tmp /x", "tmp+x/a b.jpg"]
    assert report.deleted == len(awkward) and report.failed_count == 0


def test_empty_prefix_means_the_whole_bucket(s3) -> None:
    put(["a", "b/c"], age=2 * HOUR)
    put(["young"], age=timedelta(0))
    assert run(s3, prefix="").deleted == 2 and keys_left(s3) == ["young"]


# Failures ---------------------------------------------------------------------------------------


def test_per_key_errors_are_reported_while_the_rest_is_deleted(s3) -> None:
    keys = [f"tmp/{i:04d}" for i in range(1500)]
    put(keys, age=2 * HOUR)
    denied = {"tmp/0007", "tmp/1200"}
    flaky = {"tmp/0500"}  # InternalError once: sent again, then deleted
    report = run(FailingDeletes(s3, denied, flaky))
    assert sorted(keys_left(s3)) == sorted(denied)
    assert report.deleted == 1498 and report.failed == {"AccessDenied": 2}
    assert {f["item"] for f in report.failures} == denied
    assert report.status == "failed" and "2 deletions failed (AccessDenied: 2)" in report.reason


def test_a_missing_bucket_fails_the_run_with_the_reason(s3) -> None:
    report = run(s3, bucket="no-such-bucket-here")
    assert report.status == "failed" and "NoSuchBucket" in report.reason
    assert report.deleted == 0


def test_bad_job_settings_are_refused_before_any_call() -> None:
    client = mock.Mock(spec=["get_bucket_versioning", "get_paginator", "delete_objects"])
    with pytest.raises(ValueError, match="older_than"):
        purge.Settings.from_job({**JOB, "older_than": "1h"})
    for cursor in [7, "tmp/0001", '{"key": "tmp/0001", "deleted": -5}', '{"key": 3}']:
        with pytest.raises(ValueError, match="malformed purge cursor"):
            purge.run(
                purge.Settings.from_job(JOB),
                now=T0,
                budget=TimeBudget.seconds(5),
                event={"cursor": cursor},
                s3=client,
            )
    assert client.mock_calls == []


# Dry run, time budget, caps, exclude --------------------------------------------------------------


def test_dry_run_deletes_nothing_and_says_what_it_would_delete(s3) -> None:
    put([f"tmp/{i:04d}" for i in range(1200)], age=2 * HOUR)
    put(["tmp/young"], age=timedelta(0))
    report = run(s3, dry_run=True)
    assert len(keys_left(s3)) == 1201
    assert (report.dry_run, report.deleted, report.kept) == (True, 1200, {"too-young": 1})
    assert report.candidates[:2] == ["tmp/0000", "tmp/0001"] and len(report.candidates) == 100
    assert report.metrics()["Deleted"] == 0 and report.metrics()["WouldDelete"] == 1200
    assert "DeleteObjects" not in report.api_calls


def test_the_time_budget_stops_the_run_early_and_it_resumes_from_the_cursor(s3) -> None:
    keys = [f"tmp/{i:04d}" for i in range(2500)]
    put(keys, age=2 * HOUR)
    first = run(s3, budget=countdown(2))  # batch 1, page 2, then no time for batch 2
    assert (first.status, first.reason) == ("stopped-early", "the time budget ran out")
    assert json.loads(first.cursor) == {"key": "tmp/0999", "deleted": 1000}
    assert first.deleted == 1000
    assert first.kept == {"left-for-next-run": 1000}
    assert keys_left(s3) == keys[1000:]
    second = run(s3, event={"cursor": first.cursor})
    assert (second.status, second.deleted, keys_left(s3)) == ("finished", 1500, [])


def test_max_deletes_caps_the_run_before_deleting_past_it(s3) -> None:
    put([f"tmp/{i:04d}" for i in range(2500)], age=2 * HOUR)
    report = run(s3, max_deletes=1500)
    assert len(keys_left(s3)) == 1000 and report.deleted == 1500
    assert (
        report.status == "capped"
        and report.reason == "stopped before deleting past max_deletes=1500"
    )
    assert report.metrics()["Capped"] == 1


def test_max_delete_percent_counts_what_was_examined_so_far(s3) -> None:
    put([f"tmp/{i:04d}/young" for i in range(1000)], age=timedelta(0))
    put([f"tmp/{i:04d}/old" for i in range(1000)], age=2 * HOUR)  # interleaved with the young
    capped = run(s3, max_delete_percent=40, dry_run=True)
    assert capped.status == "capped" and "max_delete_percent=40 of" in capped.reason
    assert capped.deleted == 799  # 40% of the 1,999 examined when the first batch was full
    report = run(s3, max_delete_percent=51)  # 50% would stop at 999 of the 1,999 examined
    assert (report.status, report.deleted, len(keys_left(s3))) == ("finished", 1000, 1000)


def test_exclude_patterns_keep_matching_keys(s3) -> None:
    put(["tmp/keep/a.jpg", "tmp/x.lock", "tmp/sub/y.lock", "tmp/go.jpg"], age=2 * HOUR)
    report = run(s3, exclude=["tmp/keep/*", "*.lock"])
    assert keys_left(s3) == ["tmp/keep/a.jpg", "tmp/sub/y.lock", "tmp/x.lock"]
    assert report.kept == {"excluded": 3} and report.deleted == 1


# Versioned buckets ------------------------------------------------------------------------------


def versions_left(s3: Any) -> list[tuple[str, str]]:
    reply = s3.list_object_versions(Bucket=BUCKET)
    entries = [(v["Key"], "version", v) for v in reply.get("Versions", [])]
    entries += [(m["Key"], "marker", m) for m in reply.get("DeleteMarkers", [])]
    ordered = sorted(entries, key=lambda e: (e[0], -e[2]["LastModified"].timestamp()))
    return [
        (key, f"{kind} {int((T0 - e['LastModified']) / timedelta(minutes=1))}m")
        for key, kind, e in ordered
    ]


def test_versioned_bucket_loses_old_versions_and_markers_never_half_a_key(s3) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for key, ages, marker in [
        ("tmp/a", [300, 180, 30], False),  # young current: keep it and its newest old one
        ("tmp/b", [300, 120], True),  # old delete marker: the key goes
        ("tmp/c", [180], False),  # old current: the key goes
        ("tmp/d", [300, 10], True),  # young marker: the version behind it stays
        ("other/e", [300], False),  # outside the prefix
    ]:
        for _ in ages[: len(ages) - marker]:
            backend().put_object(BUCKET, key, b"x")
        if marker:
            s3.delete_object(Bucket=BUCKET, Key=key)
        age_versions(key, [timedelta(minutes=m) for m in ages])
    report = run(s3)
    assert versions_left(s3) == [
        ("other/e", "version 300m"),
        ("tmp/a", "version 30m"),
        ("tmp/a", "version 180m"),  # noncurrent for only 30 minutes
        ("tmp/d", "marker 10m"),
        ("tmp/d", "version 300m"),  # noncurrent for only 10 minutes
    ]
    assert report.deleted == 4 and report.kept == {"noncurrent-too-young": 2, "too-young": 2}
    assert report.api_calls["ListObjectVersions"] == 1 and "ListObjectsV2" not in report.api_calls


class ExclusiveKeyMarker:
    """moto 5.2.1 drops the first version after a lone KeyMarker; S3 lists the versions of the
    keys strictly after it. This double lists the way S3 documents, on moto's data."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_paginator(self, name: str) -> Any:
        assert name == "list_object_versions"
        return self

    def paginate(self, *, KeyMarker: str = "", **kwargs: Any) -> Iterator[dict]:
        for page in self._client.get_paginator("list_object_versions").paginate(**kwargs):
            versions = [v for v in page.get("Versions", []) if v["Key"] > KeyMarker]
            markers = [m for m in page.get("DeleteMarkers", []) if m["Key"] > KeyMarker]
            yield {**page, "Versions": versions, "DeleteMarkers": markers}


def test_versioned_bucket_resumes_at_a_key_boundary(s3) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    keys = [f"tmp/{i:04d}" for i in range(700)]
    for _ in range(3):  # 2,100 versions: pages and batches split keys
        put(keys, age=2 * HOUR)
    first = run(s3, budget=countdown(2))
    assert first.status == "stopped-early" and first.cursor is not None
    left = {v["Key"] for v in s3.list_object_versions(Bucket=BUCKET, MaxKeys=1000)["Versions"]}
    resume_at = json.loads(first.cursor)["key"]
    assert all(key > resume_at for key in left)  # every key up to the cursor is gone entirely
    second = run(ExclusiveKeyMarker(s3), event={"cursor": first.cursor})
    assert second.status == "finished" and first.deleted + second.deleted == 2100
    assert "Versions" not in s3.list_object_versions(Bucket=BUCKET)


def test_the_caps_hold_across_hops(s3) -> None:
    """30 old objects, max_deletes=20: the second hop starts from what the first deleted."""
    keys = [f"tmp/{i:04d}" for i in range(30)]
    put(keys, age=2 * HOUR)
    cursor = json.dumps({"key": "tmp/0014", "deleted": 15})  # hop 1 deleted tmp/0000..0014
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[:15]]})
    second = run(s3, event={"cursor": cursor}, max_deletes=20)
    assert (second.status, second.deleted) == ("capped", 5)
    assert second.reason == "stopped before deleting past max_deletes=20"
    assert json.loads(second.cursor)["deleted"] == 20
    assert keys_left(s3) == keys[20:]


def test_the_percent_cap_counts_earlier_hops_once(s3) -> None:
    """Earlier hops deleted 10 (examined, then gone); this hop sees 10 more, all old: 75 % of
    the 20 examined is 15, so 5 more."""
    put([f"tmp/{i:04d}" for i in range(10, 20)], age=2 * HOUR)
    cursor = json.dumps({"key": "tmp/0009", "deleted": 10})
    second = run(s3, event={"cursor": cursor}, max_delete_percent=75)
    assert (second.status, second.deleted) == ("capped", 5)  # int((10 + 10) * 0.75) - 10


# Pacing ------------------------------------------------------------------------------------------


def test_pacer_starts_unpaced_then_backs_off_and_grows_again() -> None:
    clock = {"t": 0.0}
    slept: list[float] = []
    pacer = Pacer(clock=lambda: clock["t"], sleep=slept.append)
    pacer.wait(1000)
    assert pacer.rate is None and slept == []
    pacer.slow_down()
    assert pacer.rate == Pacer.BASELINE
    pacer.slow_down()  # the same second: calls in flight together are one signal
    assert pacer.rate == Pacer.BASELINE
    clock["t"] = 2.0
    pacer.slow_down()
    assert pacer.rate == pytest.approx(Pacer.BASELINE * 0.85)
    pacer.wait(1000)
    pacer.wait(1000)
    assert slept == [pytest.approx(1000 / pacer.rate)]
    pacer.success(1000)
    assert pacer.rate == pytest.approx(Pacer.BASELINE * 0.85 * 1.02)


# The selection, as a property -------------------------------------------------------------------


class MemoryS3:
    """Just enough S3 for the selection: ListObjectsV2 pages in key order (small pages, honouring
    Prefix and StartAfter) and DeleteObjects. Keys compare as UTF-8 bytes, as S3 sorts them."""

    PAGE = 3

    def __init__(self, objects: dict[str, datetime]) -> None:
        self.objects = dict(objects)

    def get_bucket_versioning(self, Bucket: str) -> dict[str, Any]:
        return {}

    def get_paginator(self, name: str) -> Any:
        assert name == "list_objects_v2"
        return self

    def paginate(
        self, *, Bucket: str, Prefix: str, PaginationConfig: dict, StartAfter: str = ""
    ) -> Iterator[dict]:
        keys = sorted((k for k in self.objects if k.startswith(Prefix)), key=str.encode)
        keys = [k for k in keys if k.encode() > StartAfter.encode()]
        for start in range(0, len(keys), self.PAGE):
            chunk = keys[start : start + self.PAGE]
            yield {"Contents": [{"Key": k, "LastModified": self.objects[k]} for k in chunk]}

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        assert len(Delete["Objects"]) <= purge.BATCH_SIZE and Delete["Quiet"] is True
        for obj in Delete["Objects"]:
            self.objects.pop(obj["Key"], None)
        return {}


key_text = st.text(alphabet=st.sampled_from("ab/ +é中"), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    objects=st.dictionaries(key_text, st.integers(0, 7200), max_size=25),
    prefix=st.sampled_from(["", "a", "a/", "b ", "é"]),
    older_than=st.integers(1, 7200),
)
def test_exactly_the_old_objects_under_the_prefix_are_deleted(objects, prefix, older_than) -> None:
    store = MemoryS3({k: T0 - timedelta(seconds=age) for k, age in objects.items()})
    with mock.patch.object(purge, "BATCH_SIZE", 4):  # several batches from few objects
        report = run(store, prefix=prefix, older_than=older_than)
    doomed = {k for k, age in objects.items() if k.startswith(prefix) and age > older_than}
    assert set(store.objects) == set(objects) - doomed
    assert report.deleted == len(doomed) and report.status == "finished"
