"""Plan, then delete: what the Lambda-version, EBS-snapshot and log-stream purges share.

Each of those targets lists what it may delete and decides per item (kept with a reason, or a
candidate) before it deletes anything, so the caps see the whole examined set: `cap` trims the
candidates to what `max_deletes`/`max_delete_percent` allow and marks the run "capped";
`delete_each` deletes (or, in a dry run, only reports) the rest one by one, records per-item
errors without stopping, and stops cleanly when the time budget runs out. `TargetRun` is how each
of them opens: the cursor read (and checked) first, the report, and paced clients sharing a clock.

A stopped run's cursor is a JSON object: the target's resume position plus `deleted`, the count
deleted by earlier hops of the same run, so a chain of hand-offs never deletes past
`max_deletes` in total.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from functions.purge import pacing
from functions.purge.pacing import Clock, PacedClient, RealClock, TokenBucket, error_code
from functions.purge.report import DeleteGuard, PurgeReport, Rejected
from functions.purge.settings import DEFAULT_RATE, PacedSettings, PurgeSettings
from functions.runtime.budget import TimeBudget

T = TypeVar("T")
# Never more than two thirds of the ~15 requests/s that Lambda's control plane and
# DeleteLogStream allow per account and region (and EC2's bucket), shared with everyone else.
MAX_RATE = 10.0


def new_report(job: PurgeSettings, target: str) -> PurgeReport:
    return PurgeReport(job=job.name, target=target, dry_run=job.dry_run)


@dataclass
class TargetRun:
    """One run of a plan-then-delete target: its job, report and hand-off cursor, and the clock
    and request rate its paced clients share."""

    job: PacedSettings
    report: PurgeReport
    cursor: dict[str, Any]
    clock: Clock = field(default_factory=RealClock)

    @classmethod
    def start(
        cls,
        job: PacedSettings,
        target: str,
        event: Mapping[str, Any],
        *,
        cursor_keys: Sequence[str],
        clock: Clock | None = None,
    ) -> TargetRun:
        """Read the cursor first: a bad event is rejected before any client or call exists."""
        cursor = read_cursor(event, keys=cursor_keys)
        return cls(job, new_report(job, target), cursor, clock or RealClock())

    @property
    def rate(self) -> float:
        return min(self.job.max_rate or DEFAULT_RATE, MAX_RATE)

    def paced(self, client: Any, service: str, *, bucket: bool = True) -> PacedClient:
        """`client` (or the shared one for `service`) counted into the report and retried when
        throttled; with `bucket`, also held to the job's rate by a token bucket of its own."""
        return PacedClient(
            client or pacing.client(service),
            self.report.api_calls,
            TokenBucket(self.rate, clock=self.clock) if bucket else None,
            self.clock,
            retries=self.report.retries,
        )

    def delete(
        self,
        candidates: list[T],
        deletion: Callable[[T], Deletion],
        budget: TimeBudget,
        *,
        gone: frozenset[str] = frozenset(),
        undeletable: Callable[[Exception], str | None] | None = None,
    ) -> tuple[list[T], int]:
        """The candidates the caps allow, deleted in order (see `delete_each`): those allowed,
        and how many of them were handled before the budget ran out."""
        allowed = cap(self.report, self.job.guard, candidates, self.prior_deleted)
        deletions = [deletion(c) for c in allowed]
        done = delete_each(self.report, deletions, budget, gone=gone, undeletable=undeletable)
        return allowed, done

    @property
    def prior_deleted(self) -> int:
        """What earlier hops of the same run deleted."""
        return int(self.cursor.get("deleted", 0))

    def hand_on(self, reason: str, **position: str | None) -> None:
        """Stop early with a cursor that resumes at `position`."""
        cursor = write_cursor(self.cursor, self.report, **position)
        self.report.stop("stopped-early", reason, cursor)


def read_cursor(event: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The hand-off cursor of a continued run, or {} for a scheduled one.

    Raises `Rejected` for a cursor this target did not write (unknown keys, a position that is
    not a string, a count that is not a non-negative whole number), before any AWS call.
    """
    raw = event.get("cursor") if isinstance(event, Mapping) else None
    if raw in (None, ""):
        return {}
    try:
        cursor = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        cursor = None
    if not isinstance(cursor, dict):
        raise Rejected(f"malformed purge cursor {raw!r}: expected a JSON object")
    if not is_count(cursor.get("deleted", 0)):
        raise Rejected(f"malformed purge cursor {raw!r}: `deleted` must be a whole number >= 0")
    unknown = set(cursor) - {"deleted", *keys}
    if unknown or any(not isinstance(cursor.get(k, ""), str) for k in keys):
        raise Rejected(f"malformed purge cursor {raw!r}: expected the keys {sorted(keys)}")
    return cursor


def is_count(value: Any) -> bool:
    """A whole number >= 0 (JSON `true` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def write_cursor(prior: dict[str, Any], report: PurgeReport, **position: str | None) -> str:
    deleted = int(prior.get("deleted", 0)) + report.deleted
    fields = {k: v for k, v in position.items() if v is not None}
    return json.dumps({"deleted": deleted, **fields}, sort_keys=True, separators=(",", ":"))


def cap(
    report: PurgeReport, guard: DeleteGuard, candidates: list[T], prior_deleted: int
) -> list[T]:
    """The candidates the caps allow; the run is marked "capped" if that is fewer than all.

    Earlier hops' deletions count against `max_deletes`, and as examined for the percentage
    (they were examined before they were deleted, and are gone from this hop's listing). This
    run's own deletions are already in `report.examined`: adding them again would let the
    percentage through up to twice as much as it allows.
    """
    deleted = prior_deleted + report.deleted
    allowed = guard.allow(len(candidates), deleted, report.examined + prior_deleted)
    if allowed < len(candidates):
        report.keep("over-cap", len(candidates) - allowed)
        report.stop(
            "capped",
            f"{len(candidates)} deletions wanted after {report.examined} examined; "
            f"{guard.describe()} allows {allowed}",
        )
    return candidates[:allowed]


@dataclass(frozen=True)
class Deletion:
    """One planned deletion: what the report calls it and how to carry it out."""

    item: str
    run: Callable[[], Any]


def delete_each(
    report: PurgeReport,
    deletions: Sequence[Deletion],
    budget: TimeBudget,
    gone: frozenset[str] = frozenset(),
    undeletable: Callable[[Exception], str | None] | None = None,
) -> int:
    """Delete in order; the number handled before the budget ran out (all of them if it didn't).

    An error code in `gone` means someone else deleted it first (at-least-once schedules, a
    human): kept as "already-gone", not a failure. `undeletable` names the errors with which the
    service refuses a deletion by design (it returns the reason to keep the item under, or None):
    those are kept too, so an item that can never be deleted does not fail every run. Any other
    error is recorded as a failure and the rest go on.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    if report.dry_run:
        report.would_delete([d.item for d in deletions])
        return len(deletions)
    for index, deletion in enumerate(deletions):
        if budget.expired():
            return index
        try:
            deletion.run()
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc)
            reason = "already-gone" if code in gone else undeletable(exc) if undeletable else None
            if reason:
                report.keep(reason)
            else:
                report.fail(deletion.item, code, str(exc)[:300])
            continue
        report.deleted += 1
    return len(deletions)


_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def parse_time(value: str | datetime) -> datetime:
    """An AWS timestamp as an aware UTC datetime: `2024-05-01T10:00:00.000+0000` (Lambda),
    nanosecond fractions, `Z`, or a datetime botocore already parsed."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError(f"unrecognised timestamp {value!r}")
    base, fraction, zone = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    offset = "+00:00" if zone in (None, "Z") else zone[:3] + ":" + zone[-2:]
    return datetime.fromisoformat(f"{base}.{micros}{offset}").astimezone(UTC)
