"""The S3 purge's listing ahead (`s3_prefetch`): whether or not it splits the key range into
parallel listings, the purge sees every key under the prefix once, in key order, so the caps, the
age rule and the resume cursor hold exactly as with one listing. The split is forced here (every
page counts as slow); no test measures time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.purge import s3 as purge
from functions.purge import s3_prefetch
from functions.purge.s3_listing import S3Settings
from functions.purge.s3_prefetch import Prefetch, boundaries
from functions.runtime.budget import TimeBudget
from tests.test_purge_s3 import BUCKET, HOUR, JOB, T0, keys_left, put
from tests.test_purge_s3 import s3 as s3  # the moto fixture


def utf8(keys: Any) -> list[str]:
    return sorted(keys, key=str.encode)  # S3 sorts keys by their UTF-8 bytes


class PagedS3:
    """ListObjectsV2 as S3 pages it (Prefix, StartAfter, MaxKeys / PageSize, keys in UTF-8
    order), DeleteObjects, and a count of list calls; thread-safe like a boto3 client."""

    def __init__(self, objects: dict[str, datetime], page: int) -> None:
        self.objects, self.page = dict(objects), page
        self.lists = 0
        self.delimited = 0  # of those, `/`-delimited calls (a split's directories)
        self.probes = 0  # and one-key probes
        self._lock = threading.Lock()
        # The first listing waits after its first page until the split has been decided, so
        # the split is exercised however fast this store answers (no test waits on a clock).
        self.split_decided = threading.Event()

    def get_bucket_versioning(self, Bucket: str) -> dict[str, Any]:
        return {}

    def get_paginator(self, name: str) -> Any:
        assert name == "list_objects_v2"
        return self

    def _after(self, prefix: str, start: str, limit: int) -> list[str]:
        with self._lock:
            self.lists += 1
            keys = utf8(k for k in self.objects if k.startswith(prefix))
        return [k for k in keys if k.encode() > start.encode()][:limit]

    def list_objects_v2(
        self, *, Bucket: str, Prefix: str, StartAfter: str, MaxKeys: int = 1000, Delimiter: str = ""
    ) -> dict:
        if not Delimiter:
            self.probes += MaxKeys == 1
            keys = self._after(Prefix, StartAfter, MaxKeys)
            return {"Contents": [{"Key": k, "LastModified": self.objects[k]} for k in keys]}
        # As S3 rolls keys up: everything up to the first delimiter past the prefix is one
        # CommonPrefix; keys and prefixes together count towards MaxKeys.
        contents: list[dict[str, Any]] = []
        prefixes: list[str] = []
        for key in self._after(Prefix, StartAfter, len(self.objects)):
            cut = key.find(Delimiter, len(Prefix))
            if cut < 0:
                contents.append({"Key": key, "LastModified": self.objects[key]})
            elif not prefixes or prefixes[-1] != key[: cut + 1]:
                prefixes.append(key[: cut + 1])
            if len(contents) + len(prefixes) >= MaxKeys:
                break
        self.delimited += 1
        return {"Contents": contents, "CommonPrefixes": [{"Prefix": p} for p in prefixes]}

    def paginate(
        self, *, Bucket: str, Prefix: str, PaginationConfig: dict, StartAfter: str = ""
    ) -> Iterator[dict]:
        after, first = StartAfter, True
        while keys := self._after(Prefix, after, PaginationConfig["PageSize"]):
            yield {"Contents": [{"Key": k, "LastModified": self.objects.get(k, T0)} for k in keys]}
            if first and not StartAfter and len(keys) == PaginationConfig["PageSize"]:
                self.split_decided.wait(timeout=10)  # a full first page: a split is asked for
            after, first = keys[-1], False

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for obj in Delete["Objects"]:
                self.objects.pop(obj["Key"], None)
        return {}


@pytest.fixture
def always_split() -> Iterator[None]:
    """Pages of 4 keys, every one 'slow': the first listing splits after its first page (and
    a PagedS3 holds that listing until the split is decided)."""
    split = Prefetch._split

    def decided(self: Prefetch, part: Any, *args: Any) -> None:
        try:
            split(self, part, *args)
        finally:
            if isinstance(self.s3, PagedS3):
                self.s3.split_decided.set()

    with (
        mock.patch.object(s3_prefetch, "PAGE_SIZE", 4),
        mock.patch.object(s3_prefetch, "SPLIT_AFTER", 1),
        mock.patch.object(s3_prefetch, "STARVED_SECONDS", -1.0),
        mock.patch.object(s3_prefetch, "PROBE_SHARE", float("inf")),
        mock.patch.object(s3_prefetch, "CPU_BOUND", float("inf")),  # this store is all CPU
        mock.patch.object(purge, "BATCH_SIZE", 4),
        mock.patch.object(Prefetch, "_split", decided),
    ):
        yield


def listed(store: PagedS3, prefix: str, start: str | None) -> tuple[list[str], Prefetch]:
    job = S3Settings(name="t", target="s3", bucket=BUCKET, prefix=prefix, older_than=3600)
    prefetch = Prefetch(store, job, versioned=False, start=start)
    keys = [e["Key"] for page in prefetch for e in page.get("Contents", ())]
    return keys, prefetch


key_text = st.text(alphabet=st.sampled_from("ab0/9 +é中~"), min_size=1, max_size=6)


@pytest.mark.usefixtures("always_split")
@settings(max_examples=80, deadline=None)
@given(
    keys=st.sets(key_text, max_size=60),
    prefix=st.sampled_from(["", "a", "a/", "0"]),
    start=st.one_of(st.none(), key_text),
)
def test_the_split_listing_is_the_one_listing_in_the_same_order(keys, prefix, start) -> None:
    store = PagedS3(dict.fromkeys(keys, T0), page=4)
    got, _ = listed(store, prefix, start)
    expected = [k for k in utf8(keys) if k.startswith(prefix)]
    if start is not None:
        expected = [k for k in expected if k.encode() > start.encode()]
    assert got == expected


@pytest.mark.usefixtures("always_split")
def test_a_large_prefix_of_directories_is_listed_in_several_ranges() -> None:
    keys = [f"tmp/{d:03d}/{i:03d}.jpg" for d in range(20) for i in range(10)]
    store = PagedS3(dict.fromkeys(keys, T0), page=4)
    got, prefetch = listed(store, "tmp/", None)
    assert got == keys
    assert len(prefetch.ranges) > 2  # split: the keys allowed it
    assert all(r.high is None or r.low is None or r.low < r.high for r in prefetch.ranges)


@pytest.mark.usefixtures("always_split")
def test_a_prefix_of_directories_splits_at_them_with_one_delimited_call_and_one_probe() -> None:
    keys = [f"tmp/{d:03d}/{i:03d}.jpg" for d in range(20) for i in range(10)]
    store = PagedS3(dict.fromkeys(keys, T0), page=4)
    got, prefetch = listed(store, "tmp/", None)
    assert got == keys
    assert (store.delimited, store.probes) == (1, 1)  # one probe: is a split worth it here
    highs = [r.high for r in prefetch.ranges[:-1]]
    assert len(highs) == s3_prefetch.MAX_RANGES - 1
    assert all(h is not None and h.startswith("tmp/0") and h.endswith("/") for h in highs)


@pytest.mark.usefixtures("always_split")
def test_keys_without_directories_split_at_characters_found_by_probes() -> None:
    keys = [f"tmp/{i:04d}.jpg" for i in range(200)]
    store = PagedS3(dict.fromkeys(keys, T0), page=4)
    got, prefetch = listed(store, "tmp/", None)
    assert got == keys
    assert store.delimited == 1 and store.probes > 1 and len(prefetch.ranges) > 2


class Clocks:
    """A wall clock a second further on at every reading, and a process CPU clock that has
    run `rate` of the wall time."""

    def __init__(self, rate: float) -> None:
        self.now, self.rate = 0.0, rate

    def wall(self) -> float:
        self.now += 1.0
        return self.now

    def cpu(self) -> float:
        return self.rate * self.now


@pytest.mark.usefixtures("always_split")
@pytest.mark.parametrize(
    ("memory", "rate", "splits"),
    # Rates well clear of the bound: the fake clocks read a tick apart.
    [("512", 0.6, False), ("512", 0.05, True), ("3008", 2.0, False), (None, 0.3, True)],
)
def test_a_process_short_of_cpu_does_not_split(monkeypatch, memory, rate, splits) -> None:
    """Lambda's share at 512 MB is 29% of a core: a purge using most of it has no CPU for
    more listing threads; at 5% of a core it waits on the network and splits. Above 1,769 MB
    (and outside Lambda) the GIL holds the parsing to one core."""
    if memory is None:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory)
    keys = [f"tmp/{d:03d}/{i:03d}.jpg" for d in range(20) for i in range(10)]
    store = PagedS3(dict.fromkeys(keys, T0), page=4)
    if not splits:
        store.split_decided.set()  # no split is coming: the first listing must not wait for one
    job = S3Settings(name="t", target="s3", bucket=BUCKET, prefix="tmp/", older_than=3600)
    clocks = Clocks(rate)
    with mock.patch.object(s3_prefetch, "CPU_BOUND", 0.7):
        prefetch = Prefetch(store, job, False, None, clock=clocks.wall, cpu_clock=clocks.cpu)
        got = [e["Key"] for page in prefetch for e in page.get("Contents", ())]
    assert got == keys
    assert (len(prefetch.ranges) > 1) == splits


def test_boundaries_follow_the_characters_the_keys_use() -> None:
    keys = utf8(f"tmp/{d:03d}/{i:03d}.jpg" for d in range(20) for i in range(10))

    def probe(after: str) -> str | None:
        return next((k for k in keys if k > after), None)

    points = boundaries(probe, "tmp/", "tmp/000/004.jpg", None)
    assert points == sorted(points) and all(p > "tmp/000/004.jpg" for p in points)
    assert 2 <= len(points) <= s3_prefetch.MAX_RANGES - 1
    assert all(p.startswith("tmp/0") for p in points)
    assert boundaries(probe, "tmp/", keys[-1], None) == []  # nothing after the last key
    at_once = boundaries(probe, "tmp/", "tmp/000/004.jpg", None, alphabet="./0123456789gjp")
    assert at_once == sorted(at_once) and 2 <= len(at_once) <= s3_prefetch.MAX_RANGES - 1
    assert all(p > "tmp/000/004.jpg" and p.startswith("tmp/0") for p in at_once)


@pytest.mark.usefixtures("always_split")
@settings(max_examples=40, deadline=None)
@given(
    ages=st.dictionaries(key_text, st.integers(0, 7200), max_size=40),
    cap=st.one_of(st.none(), st.integers(0, 30)),
)
def test_split_runs_delete_exactly_the_old_keys_within_the_cap_and_resume(ages, cap) -> None:
    store = PagedS3({k: T0 - timedelta(seconds=a) for k, a in ages.items()}, page=4)
    doomed = {k for k, age in ages.items() if age > 3600}
    job = {**JOB, "prefix": "", "older_than": 3600, "max_deletes": cap}
    first = purge.run(
        purge.Settings.from_job(job), now=T0, budget=TimeBudget.seconds(60), event={}, s3=store
    )
    allowed = len(doomed) if cap is None else min(cap, len(doomed))
    assert first.deleted == allowed and set(ages) - set(store.objects) <= doomed
    assert first.status == ("capped" if allowed < len(doomed) else "finished")
    if first.status == "capped" and first.cursor:
        resume = json.loads(first.cursor)["key"]
        # Safety, not thrift: resuming after the cursor skips no old key still there (a cursor
        # may sit before keys this run deleted: the next run lists past them, they are gone).
        left = doomed & set(store.objects)
        assert all(k.encode() > resume.encode() for k in left)
        rest = {**job, "max_deletes": None}
        second = purge.run(
            purge.Settings.from_job(rest),
            now=T0,
            budget=TimeBudget.seconds(60),
            event={"cursor": first.cursor},
            s3=store,
        )
        assert second.status == "finished"
        assert set(ages) - set(store.objects) == doomed


def test_on_moto_a_split_run_deletes_every_old_object_once(s3: Any) -> None:
    keys = [f"tmp/{d:02d}/{i:04d}.jpg" for d in range(5) for i in range(700)]
    put(keys, age=2 * HOUR)
    put(["tmp/young.jpg"], age=timedelta(0))
    with (
        mock.patch.object(s3_prefetch, "SPLIT_AFTER", 1),
        mock.patch.object(s3_prefetch, "STARVED_SECONDS", -1.0),
        mock.patch.object(s3_prefetch, "PROBE_SHARE", float("inf")),
        mock.patch.object(s3_prefetch, "CPU_BOUND", float("inf")),
    ):
        report = purge.run(
            purge.Settings.from_job(JOB), now=T0, budget=TimeBudget.seconds(120), event={}, s3=s3
        )
    assert (report.status, report.deleted, report.examined) == ("finished", 3500, 3501)
    assert keys_left(s3) == ["tmp/young.jpg"]
    assert report.api_calls["ListObjectsV2"] > 4  # pages of 1,000, plus the probes and ranges
