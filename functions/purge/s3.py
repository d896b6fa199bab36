"""S3 purge: delete what under a prefix is older than `older_than`, at the speed S3 allows.

How a run goes:
- `GetBucketVersioning` picks the listing: `ListObjectsV2` for an unversioned bucket,
  `ListObjectVersions` for a versioned (Enabled or Suspended) one. Pages of 1,000 come from
  botocore's paginators, lazily, on the calling thread.
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
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.purge.planning import read_cursor, write_cursor
from functions.purge.report import DeleteGuard, PurgeReport, Status
from functions.runtime.budget import TimeBudget

PAGE_SIZE = 1000  # the most ListObjectsV2 / ListObjectVersions return per call
BATCH_SIZE = 1000  # the most DeleteObjects takes per call
WORKERS = 8  # DeleteObjects calls in flight
IN_FLIGHT = WORKERS + 2  # batches cut but not yet collected: bounds memory and the final drain
MAX_ATTEMPTS = 10  # botocore attempts per call: SlowDown bursts need more than the default
KEY_ROUNDS = 3  # DeleteObjects rounds for keys that failed with a transient per-key error
SEND_FLOOR_SECONDS = 2.0  # a batch is not started when Lambda's own timeout is this close
TRANSIENT = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)


@dataclass(frozen=True)
class S3Job:
    """The job's settings from `$OPS_JOB`, checked before anything is listed."""

    name: str
    bucket: str
    prefix: str
    older_than: timedelta
    dry_run: bool = False
    exclude: tuple[str, ...] = ()
    guard: DeleteGuard = field(default_factory=DeleteGuard)

    @classmethod
    def from_settings(cls, job: Mapping[str, Any]) -> S3Job:
        bucket, prefix, older = job.get("bucket"), job.get("prefix", ""), job.get("older_than")
        if not isinstance(bucket, str) or not bucket or not isinstance(prefix, str):
            raise ValueError("an s3 purge job needs `bucket` and `prefix` strings")
        if not isinstance(older, int) or isinstance(older, bool) or older <= 0:
            raise ValueError(f"`older_than` must be a positive number of seconds, got {older!r}")
        return cls(
            name=str(job.get("name", "")),
            bucket=bucket,
            prefix=prefix,
            older_than=timedelta(seconds=older),
            dry_run=bool(job.get("dry_run", False)),
            exclude=tuple(job.get("exclude") or ()),
            guard=DeleteGuard(job.get("max_deletes"), job.get("max_delete_percent")),
        )

    def excluded(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.exclude)


@dataclass(frozen=True)
class Entry:
    """One thing to delete: a key, or one version (or delete marker) of it."""

    key: str
    version_id: str | None = None

    def identifier(self) -> dict[str, str]:
        if self.version_id is None:
            return {"Key": self.key}
        return {"Key": self.key, "VersionId": self.version_id}

    @property
    def label(self) -> str:
        return self.key if self.version_id is None else f"{self.key} (version {self.version_id})"


@dataclass(frozen=True)
class Decision:
    """What happens to one key: the entries to delete, and a reason for each entry kept."""

    key: str
    delete: tuple[Entry, ...] = ()
    kept: tuple[str, ...] = ()


def decide_object(obj: Mapping[str, Any], cutoff: datetime, job: S3Job) -> Decision:
    key = obj["Key"]
    if not key.startswith(job.prefix):  # the listing's Prefix says so; we do not rely on it
        return Decision(key, kept=("outside-prefix",))
    if job.excluded(key):
        return Decision(key, kept=("excluded",))
    if obj["LastModified"] < cutoff:
        return Decision(key, delete=(Entry(key),))
    return Decision(key, kept=("too-young",))


def decide_versions(
    key: str, entries: list[Mapping[str, Any]], cutoff: datetime, job: S3Job
) -> Decision:
    """`entries`: the key's versions and delete markers, newest first."""
    if not key.startswith(job.prefix) or job.excluded(key):
        reason = "excluded" if key.startswith(job.prefix) else "outside-prefix"
        return Decision(key, kept=(reason,) * len(entries))
    delete: list[Entry] = []
    kept: list[str] = []
    for index, entry in enumerate(entries):
        # Aged from when it stopped being current: the time its successor was written.
        since = entry if index == 0 else entries[index - 1]
        if since["LastModified"] < cutoff:
            delete.append(Entry(key, entry["VersionId"]))
        else:
            kept.append("too-young" if index == 0 else "noncurrent-too-young")
    return Decision(key, delete=tuple(delete), kept=tuple(kept))


def object_decisions(
    pages: Iterable[Mapping[str, Any]], cutoff: datetime, job: S3Job
) -> Iterator[Decision]:
    for page in pages:
        for obj in page.get("Contents", ()):
            yield decide_object(obj, cutoff, job)


def version_decisions(
    pages: Iterable[Mapping[str, Any]], cutoff: datetime, job: S3Job
) -> Iterator[Decision]:
    for key, entries in version_groups(pages):
        yield decide_versions(key, entries, cutoff, job)


def after(start: str | None, pages: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Pages without entries at or before `start`: S3 lists strictly after KeyMarker, some
    S3-compatible endpoints include the marker key itself."""
    for page in pages:
        if start is None:
            yield page
            continue
        yield {
            name: [e for e in page.get(name, ()) if e["Key"] > start]
            for name in ("Versions", "DeleteMarkers", "Contents")
        }


def version_groups(
    pages: Iterable[Mapping[str, Any]],
) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
    """Versions and delete markers per key, newest first; a key may span pages."""
    key: str | None = None
    group: list[Mapping[str, Any]] = []
    for page in pages:
        entries = [*page.get("Versions", ()), *page.get("DeleteMarkers", ())]
        entries.sort(key=lambda e: (e["Key"], -e["LastModified"].timestamp(), not e["IsLatest"]))
        for entry in entries:
            if entry["Key"] != key:
                if key is not None:
                    yield key, group
                key, group = entry["Key"], []
            group.append(entry)
    if key is not None:  # only once the listing has ended is the last key complete
        yield key, group


def listing(s3: Any, job: S3Job, versioned: bool, start: str | None) -> Iterator[Mapping[str, Any]]:
    """The listing's pages, fetched one at a time as they are asked for."""
    config = {"PageSize": PAGE_SIZE}
    if versioned:
        marker = {"KeyMarker": start} if start else {}
        paginator = s3.get_paginator("list_object_versions")
    else:
        marker = {"StartAfter": start} if start else {}
        paginator = s3.get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=job.bucket, Prefix=job.prefix, PaginationConfig=config, **marker
    )
    yield from pages


def until(
    stop: Callable[[], bool], pages: Iterable[Mapping[str, Any]]
) -> Iterator[Mapping[str, Any]]:
    """Pages while `stop()` says go on; asked before each page but the first, so a run (and
    every hop of a hand-off chain) always makes progress."""
    for page in pages:
        yield page
        if stop():
            return


class Pacer:
    """Deletes per second for the prefix: unpaced until S3 answers SlowDown, then additive
    increase and multiplicative decrease around what the prefix takes (TCP's rule, as S3's
    "reached gradually" scaling asks). One instance per run: nothing outlives an invocation."""

    BASELINE = 3500.0  # keys/s S3 documents per prefix: where pacing starts
    FLOOR = 1000.0  # below this a run would not drain its in-flight batches within the reserve
    DECREASE = 0.85
    INCREASE = 0.02  # of the rate, per 1,000 keys deleted

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate: float | None = None
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._last_cut = float("-inf")
        self._lock = threading.Lock()

    def wait(self, keys: int) -> None:
        with self._lock:
            if self.rate is None:
                return
            now = self._clock()
            start = max(self._next, now)
            self._next = start + keys / self.rate
        if start > now:
            self._sleep(start - now)

    def slow_down(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last_cut < 1.0:  # SlowDowns of calls in flight together are one signal
                return
            self._last_cut = now
            self.rate = (
                self.BASELINE if self.rate is None else max(self.FLOOR, self.rate * self.DECREASE)
            )

    def success(self, keys: int) -> None:
        with self._lock:
            if self.rate is not None:
                self.rate += self.rate * self.INCREASE * keys / 1000


class CallCounter:
    """Every HTTP request by operation (retries included) and every transient error, observed
    through the client's botocore events; attached for one run only."""

    def __init__(self, pacer: Pacer) -> None:
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._pacer = pacer
        self._lock = threading.Lock()

    def on_send(self, event_name: str = "", **_: Any) -> None:
        with self._lock:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def on_response(self, response: Any = None, **_: Any) -> None:
        if not response:
            return
        http, parsed = response
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, Mapping) else None
        if code and (code in TRANSIENT or getattr(http, "status_code", 0) >= 500):
            with self._lock:
                self.errors[code] += 1
            if code == "SlowDown":
                self._pacer.slow_down()

    @contextmanager
    def attached(self, client: Any) -> Iterator[None]:
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None:  # a client without botocore events (a test double): nothing to count
            yield
            return
        events.register("before-send.s3", self.on_send)
        events.register("needs-retry.s3", self.on_response)
        try:
            yield
        finally:
            events.unregister("before-send.s3", self.on_send)
            events.unregister("needs-retry.s3", self.on_response)


@dataclass
class BatchResult:
    entries: list[Entry]
    resume_from: str | None  # the last key fully handled before this batch's first entry
    errors: list[tuple[Entry, str, str]] = field(default_factory=list)
    sent: bool = True


class Sender:
    """Sends one batch as Quiet DeleteObjects calls; runs on the pool's threads."""

    def __init__(self, s3: Any, job: S3Job, pacer: Pacer, budget: TimeBudget) -> None:
        self.s3, self.job, self.pacer, self.budget = s3, job, pacer, budget

    def __call__(self, entries: list[Entry], resume_from: str | None) -> BatchResult:
        # Never start a call that Lambda's own timeout could cut off halfway.
        if self.budget.left() + self.budget.reserve < SEND_FLOOR_SECONDS:
            return BatchResult(entries, resume_from, sent=False)
        self.pacer.wait(len(entries))
        todo, final = entries, []
        for round_ in range(KEY_ROUNDS):
            errors = self._delete(todo)
            last = round_ == KEY_ROUNDS - 1
            final += [e for e in errors if last or e[1] not in TRANSIENT]
            todo = [entry for entry, code, _ in errors if code in TRANSIENT]
            if not todo or last:
                break
            time.sleep(0.1 * 2**round_)  # per-key InternalError/SlowDown: back off, then again
        self.pacer.success(len(entries) - len(final))
        return BatchResult(entries, resume_from, final)

    def _delete(self, entries: list[Entry]) -> list[tuple[Entry, str, str]]:
        from botocore.exceptions import BotoCoreError, ClientError

        objects = [entry.identifier() for entry in entries]
        try:
            reply = self.s3.delete_objects(
                Bucket=self.job.bucket, Delete={"Objects": objects, "Quiet": True}
            )
        except ClientError as exc:  # the whole call failed after botocore's retries
            err = exc.response.get("Error", {})
            code, message = str(err.get("Code", "Error")), str(err.get("Message", exc))
            return [(entry, code, message) for entry in entries]
        except BotoCoreError as exc:  # connection lost, read timeout...
            return [(entry, type(exc).__name__, str(exc)) for entry in entries]
        index = {(e.key, e.version_id): e for e in entries}
        return [
            (
                index.get((err.get("Key"), err.get("VersionId"))) or Entry(err.get("Key", "?")),
                str(err.get("Code", "Error")),
                str(err.get("Message", "")),
            )
            for err in reply.get("Errors", ())
        ]


class Pipeline:
    """Decisions in, batches out; several in flight; results applied to the report in order."""

    def __init__(
        self,
        job: S3Job,
        report: PurgeReport,
        budget: TimeBudget,
        start: str | None,
        send: Callable[[list[Entry], str | None], BatchResult],
        pool: ThreadPoolExecutor,
        prior: int = 0,
    ) -> None:
        self.job, self.report, self.budget, self.send, self.pool = job, report, budget, send, pool
        self.prior = prior  # deleted by earlier hops of the same run: counts against the caps
        self.clear = start  # every key up to here is kept, or in a batch already cut
        self.previous: str | None = None  # the key fed last
        self.pending: list[Entry] = []
        self.inflight: deque[Future[BatchResult]] = deque()
        self.submitted = 0
        self.halted = False
        self.resume: str | None = None  # set when a cut batch could not be sent

    def stop_requested(self) -> bool:
        if self.halted or self.budget.left() <= 0:
            self.halt("stopped-early", "the time budget ran out")
        return self.halted

    def feed(self, decision: Decision) -> None:
        self.report.examined += len(decision.delete) + len(decision.kept)
        for reason in decision.kept:
            self.report.keep(reason)
        self.pending.extend(decision.delete)
        while len(self.pending) >= BATCH_SIZE and not self.halted:
            self.flush()
        if not self.pending:
            self.clear = decision.key
        elif self.pending[0].key == decision.key and self.previous is not None:
            self.clear = self.previous  # a batch ended inside this key: the keys before are done
        self.previous = decision.key

    def flush(self) -> None:
        """Cut the next batch, as far as the time budget and the caps allow."""
        if self.stop_requested() or not self.pending:
            return
        batch = self.pending[:BATCH_SIZE]
        # Earlier hops' deletions were examined (and are gone from this listing) too.
        guard, examined = self.job.guard, self.report.examined + self.prior
        allowed = guard.allow(len(batch), self.prior + self.submitted, examined)
        if allowed:
            self.submit(batch[:allowed])
            del self.pending[:allowed]
        if allowed < len(batch):
            done = self.prior + self.submitted - allowed
            which = guard.binding(len(batch), done, examined)
            self.halt("capped", f"stopped before deleting past {which}")

    def submit(self, batch: list[Entry]) -> None:
        self.submitted += len(batch)
        if self.job.dry_run:
            self.report.would_delete([entry.label for entry in batch])
            return
        if len(self.inflight) >= IN_FLIGHT:
            self.collect(self.inflight.popleft())
        self.inflight.append(self.pool.submit(self.send, batch, self.clear))

    def collect(self, future: Future[BatchResult]) -> None:
        result = future.result()
        if not result.sent:
            self.report.keep("left-for-next-run", len(result.entries))
            if self.resume is None:
                self.resume = result.resume_from
            self.halt("stopped-early", "the time budget ran out")
            return
        for entry, code, message in result.errors:
            self.report.fail(entry.label, code, message)
        self.report.deleted += len(result.entries) - len(result.errors)

    def halt(self, status: Status, reason: str) -> None:
        if not self.halted:
            self.halted = True
            self.report.stop(status, reason)

    def finish(self, listing_done: bool) -> None:
        """Send or account for what is left, wait for every call, and say where to resume."""
        if listing_done and not self.halted:
            while self.pending and not self.halted:
                self.flush()
        while self.inflight:
            self.collect(self.inflight.popleft())
        if self.pending:
            reason = "capped" if self.report.status == "capped" else "left-for-next-run"
            self.report.keep(reason, len(self.pending))
        cursor = self.resume if self.resume is not None else self.clear
        if self.report.status == "finished" and self.report.failed_count:
            failed = ", ".join(f"{c}: {n}" for c, n in sorted(self.report.failed.items()))
            self.report.stop("failed", f"{self.report.failed_count} deletions failed ({failed})")
        elif self.report.status != "finished" and cursor is not None:
            prior = {"deleted": self.prior}
            self.report.cursor = write_cursor(prior, self.report, key=cursor)


def run(
    job: Mapping[str, Any],
    *,
    now: datetime,
    budget: TimeBudget,
    event: Mapping[str, Any],
    s3: Any = None,
) -> PurgeReport:
    """Purge one job's prefix; `event` may carry a continuation cursor to resume after: the last
    key fully handled, and the count earlier hops deleted (checked before any call)."""
    spec = S3Job.from_settings(job)
    cursor = read_cursor(event, keys=("key",))
    start, prior = cursor.get("key") or None, int(cursor.get("deleted", 0))
    report = PurgeReport(job=spec.name, target="s3", dry_run=spec.dry_run)
    s3 = s3 if s3 is not None else s3_client()
    pacer = Pacer()
    counter = CallCounter(pacer)
    with counter.attached(s3), ThreadPoolExecutor(WORKERS, thread_name_prefix="purge") as pool:
        send = Sender(s3, spec, pacer, budget)
        pipeline = Pipeline(spec, report, budget, start, send, pool, prior)
        _purge(s3, spec, now - spec.older_than, start, pipeline)
    report.api_calls.update(counter.calls)
    report.retries.update(counter.errors)
    return report


def _purge(s3: Any, job: S3Job, cutoff: datetime, start: str | None, pipeline: Pipeline) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    done = False
    try:
        versioned = is_versioned(s3, job.bucket)
        pages = until(pipeline.stop_requested, after(start, listing(s3, job, versioned, start)))
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


def is_versioned(s3: Any, bucket: str) -> bool:
    """Enabled and Suspended buckets both hold versions; only never-versioned ones do not."""
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    return status in ("Enabled", "Suspended")


def s3_client() -> Any:
    """The shared S3 client, with retries for SlowDown bursts and a connection per worker."""
    from functions.runtime.aws import client

    return client("s3", max_attempts=MAX_ATTEMPTS, max_pool=WORKERS + 2)
