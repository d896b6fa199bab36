"""What a purge run did, and the guard that stops it deleting more than it was told to.

Every target fills a `PurgeReport`: how much it examined, deleted (or would delete, in a dry run),
kept by reason, failed by error code, and how the run ended. `DeleteGuard` applies the job's
`max_deletes` and `max_delete_percent` before each delete call, so a run never deletes past a cap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["finished", "stopped-early", "capped", "failed"]


class Rejected(ValueError):
    """The event is not one this job runs on, or does not say truthfully where to resume: the
    invocation reports it and does nothing else (no AWS call, nothing deleted)."""


SAMPLE = 100  # how many example items a report carries per list


@dataclass
class PurgeReport:
    job: str
    target: str
    dry_run: bool
    examined: int = 0
    deleted: int = 0  # in a dry run: what would have been deleted
    kept: Counter[str] = field(default_factory=Counter)  # reason -> count
    failed: Counter[str] = field(default_factory=Counter)  # error code -> count
    failures: list[dict[str, str]] = field(default_factory=list)  # the first SAMPLE failures
    candidates: list[str] = field(default_factory=list)  # dry run: the first SAMPLE to delete
    status: Status = "finished"
    reason: str = ""  # why the run did not finish
    cursor: str | None = None  # where a stopped run would resume
    api_calls: Counter[str] = field(default_factory=Counter)  # operation -> HTTP requests
    retries: Counter[str] = field(default_factory=Counter)  # transient error code -> count
    continuation: dict[str, Any] | None = None  # the hand-off to a fresh invocation, if any

    def keep(self, reason: str, count: int = 1) -> None:
        self.kept[reason] += count

    def fail(self, item: str, code: str, message: str) -> None:
        self.failed[code] += 1
        if len(self.failures) < SAMPLE:
            self.failures.append({"item": item, "code": code, "message": message})

    def would_delete(self, items: list[str]) -> None:
        """Record a dry run's candidates; counts them as `deleted` (the report says dry_run)."""
        self.deleted += len(items)
        room = SAMPLE - len(self.candidates)
        self.candidates.extend(items[: max(room, 0)])

    def stop(self, status: Status, reason: str, cursor: str | None = None) -> None:
        self.status, self.reason, self.cursor = status, reason, cursor

    @property
    def failed_count(self) -> int:
        return sum(self.failed.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "target": self.target,
            "dry_run": self.dry_run,
            "status": self.status,
            "reason": self.reason,
            "examined": self.examined,
            "deleted": self.deleted,
            "kept": dict(sorted(self.kept.items())),
            "failed": dict(sorted(self.failed.items())),
            "failures": self.failures,
            "candidates": self.candidates,
            "cursor": self.cursor,
            "api_calls": dict(sorted(self.api_calls.items())),
            "retries": dict(sorted(self.retries.items())),
            "continuation": self.continuation,
        }

    def metrics(self) -> dict[str, float]:
        """The counts that go out as EMF metrics."""
        return {
            "Examined": self.examined,
            "Deleted": 0 if self.dry_run else self.deleted,
            "WouldDelete": self.deleted if self.dry_run else 0,
            "Kept": sum(self.kept.values()),
            "Failed": self.failed_count,
            "Capped": 1 if self.status == "capped" else 0,
            "StoppedEarly": 1 if self.status == "stopped-early" else 0,
            "Retries": sum(self.retries.values()),
            "HandedOn": 1 if self.continuation and "error" not in self.continuation else 0,
        }


@dataclass
class DeleteGuard:
    """`max_deletes` and `max_delete_percent` (of what was examined so far), checked per batch.

    `allow(wanted, deleted, examined)` says how many of the `wanted` deletions may go ahead; fewer
    than wanted means the run must stop with status "capped" after deleting the allowed part.
    Targets that can list everything before deleting (Lambda versions, snapshots) apply the percent
    to the whole; S3, which streams, applies it to what it has examined so far.
    """

    max_deletes: int | None = None
    max_percent: float | None = None

    def allow(self, wanted: int, deleted: int, examined: int) -> int:
        limit = wanted
        if self.max_deletes is not None:
            limit = min(limit, self.max_deletes - deleted)
        if self.max_percent is not None:
            limit = min(limit, int(examined * self.max_percent / 100) - deleted)
        return max(limit, 0)

    def binding(self, wanted: int, deleted: int, examined: int) -> str:
        """Which cap holds `allow(...)` below `wanted`, said the way the config says it."""
        parts = []
        if self.max_deletes is not None and self.max_deletes - deleted < wanted:
            parts.append(f"max_deletes={self.max_deletes}")
        if self.max_percent is not None:
            room = int(examined * self.max_percent / 100) - deleted
            if room < wanted:
                parts.append(f"max_delete_percent={self.max_percent:g} of {examined} examined")
        return " and ".join(parts) or "no cap"

    def describe(self) -> str:
        parts = []
        if self.max_deletes is not None:
            parts.append(f"max_deletes={self.max_deletes}")
        if self.max_percent is not None:
            parts.append(f"max_delete_percent={self.max_percent:g}")
        return ", ".join(parts) or "no cap"
