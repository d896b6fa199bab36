"""S3 purge, sending deletes: decisions in, Quiet DeleteObjects batches of 1,000 out.

`Pipeline` cuts the entries to delete into batches, asks `DeleteGuard` before every batch (a run
never deletes past `max_deletes` or `max_delete_percent`), and keeps several in flight on a small
thread pool while the next page is listed; results come back to the calling thread in order,
which alone writes the report, and it tracks the last key fully handled for the hand-off cursor.
`Sender` sends one batch, reads every per-key `Errors` entry and sends transient ones again.
`CallCounter` counts every request (retries included) and tells the `Pacer` of each SlowDown.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from functions.purge.pacing import Pacer
from functions.purge.planning import write_cursor
from functions.purge.report import PurgeReport, Status
from functions.purge.s3_listing import Decision, Entry, S3Settings
from functions.runtime.budget import TimeBudget

BATCH_SIZE = 1000  # the most DeleteObjects takes per call
WORKERS = 8  # DeleteObjects calls in flight
IN_FLIGHT = WORKERS + 2  # batches cut but not yet collected: bounds memory and the final drain
KEY_ROUNDS = 3  # DeleteObjects rounds for keys that failed with a transient per-key error
SEND_FLOOR_SECONDS = 2.0  # a batch is not started when Lambda's own timeout is this close
TRANSIENT = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)


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

    def __init__(self, s3: Any, job: S3Settings, pacer: Pacer, budget: TimeBudget) -> None:
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
        job: S3Settings,
        report: PurgeReport,
        budget: TimeBudget,
        start: str | None,
        send: Callable[[list[Entry], str | None], BatchResult],
        pool: ThreadPoolExecutor,
        prior: int = 0,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.job, self.report, self.budget, self.send, self.pool = job, report, budget, send, pool
        self.prior = prior  # deleted by earlier hops of the same run: counts against the caps
        self.batch_size = batch_size
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
        while len(self.pending) >= self.batch_size and not self.halted:
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
        batch = self.pending[: self.batch_size]
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
