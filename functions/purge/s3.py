"""S3 purge: delete what under a prefix is older than `older_than`, at the speed S3 allows.

How a run goes:
- `GetBucketVersioning` picks the listing: `ListObjectsV2` for an unversioned bucket,
  `ListObjectVersions` for a versioned (Enabled or Suspended) one. Pages of 1,000 come from
  botocore's paginators on threads of their own, a few pages ahead, split into key ranges
  listed in parallel when list calls are slow, and handed on in key order (`s3_prefetch`).
- Each key is decided on its own (`decide_object`, `decide_versions`: pure functions); the entries
  to delete are cut into batches of 1,000 and sent as Quiet `DeleteObjects` calls from a small
  thread pool, several in flight while the next page is listed. Results come back to the calling
  thread in order, which alone writes the report.
- Every response's per-key `Errors` are read: transient ones are sent again, the rest reported.
  Throttling (503 SlowDown) is retried by botocore's standard mode; the first SlowDown also starts
  client-side pacing of deletes (`Pacer`), so a run settles just under what the prefix allows.
- `DeleteGuard` is asked before every batch; a run never deletes past `max_deletes` or
  `max_delete_percent`.
- Before each page and each batch the time budget is checked; a run that must stop reports the
  last key it fully handled (usable as `StartAfter` / `KeyMarker`) in its cursor, a JSON object
  `{"key": ..., "deleted": ...}` that also carries what every hop so far deleted, so the caps
  hold across a chain of hand-offs.

The cutoff rule: an object is deleted when its LastModified is strictly before `now - older_than`;
one exactly at the cutoff is kept. In a versioned bucket a version is aged from the moment it
stopped being current (the LastModified of the next newer version or delete marker), the current
version and a current delete marker from their own LastModified. What a key loses is always its
oldest entries, so it is never left with a gap; when the current entry is old, the whole key goes.

The pieces: `s3_listing` (listing and deciding), `s3_prefetch` (listing ahead), `s3_delete`
(sending deletes, the report and the cursor), `pacing.Pacer` (the delete rate after a SlowDown);
this module wires them for one run.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from functions.purge.pacing import Pacer
from functions.purge.planning import read_cursor
from functions.purge.report import PurgeReport
from functions.purge.s3_delete import (
    BATCH_SIZE,
    WORKERS,
    CallCounter,
    Pipeline,
    Sender,
)
from functions.purge.s3_listing import (
    S3Settings,
    after,
    is_versioned,
    object_decisions,
    until,
    version_decisions,
)
from functions.purge.s3_prefetch import MAX_RANGES, Prefetch
from functions.runtime.budget import TimeBudget

TARGET = "s3"  # the purge target this module runs (functions.runtime.registry)
Settings = S3Settings  # its job's view

__all__ = ["BATCH_SIZE", "Pacer", "S3Settings", "Settings", "run", "s3_client"]

MAX_ATTEMPTS = 10  # botocore attempts per call: SlowDown bursts need more than the default


def run(
    job: S3Settings,
    *,
    now: datetime,
    budget: TimeBudget,
    event: Mapping[str, Any],
    s3: Any = None,
) -> PurgeReport:
    """Purge one job's prefix; `event` may carry a continuation cursor to resume after: the last
    key fully handled, and the count earlier hops deleted (checked before any call)."""
    cursor = read_cursor(event, keys=("key",))
    start, prior = cursor.get("key") or None, int(cursor.get("deleted", 0))
    report = PurgeReport(job=job.name, target="s3", dry_run=job.dry_run)
    s3 = s3 if s3 is not None else s3_client()
    pacer = Pacer()
    counter = CallCounter(pacer)
    with counter.attached(s3), ThreadPoolExecutor(WORKERS, thread_name_prefix="purge") as pool:
        send = Sender(s3, job, pacer, budget)
        pipeline = Pipeline(job, report, budget, start, send, pool, prior, BATCH_SIZE)
        _purge(s3, job, now - job.age, start, pipeline)
    report.api_calls.update(counter.calls)
    report.retries.update(counter.errors)
    return report


def _purge(
    s3: Any, job: S3Settings, cutoff: datetime, start: str | None, pipeline: Pipeline
) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    done = False
    try:
        versioned = is_versioned(s3, job.bucket)
        listed = Prefetch(s3, job, versioned, start)
        pages = until(pipeline.stop_requested, after(start, listed))
        decide = version_decisions if versioned else object_decisions
        for decision in decide(pages, cutoff, job):
            pipeline.feed(decision)
            if pipeline.halted:
                break
        else:
            done = not pipeline.halted
    except (ClientError, BotoCoreError) as exc:  # listing denied, bucket gone...
        pipeline.halt("failed", f"listing {job.bucket}/{job.prefix} failed: {exc}")
    pipeline.finish(listing_done=done)


def s3_client() -> Any:
    """The shared S3 client, with retries for SlowDown bursts, a connection per worker,
    listing timestamps parsed with `fromisoformat` and list and delete responses parsed once
    (see `functions.runtime.aws`)."""
    from functions.runtime.aws import client, parse_once

    pool = WORKERS + MAX_RANGES + 2  # deletes, parallel listings, the listing and a spare
    return parse_once(client("s3", max_attempts=MAX_ATTEMPTS, max_pool=pool, iso_timestamps=True))
