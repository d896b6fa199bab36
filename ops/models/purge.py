"""`[[purge]]`: scheduled jobs that delete what is old. One model per `target`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ops.models.common import FunctionSettings, memory_setting, timeout_setting
from ops.schedule import check_schedule, check_timezone
from ops.schema import Duration, check_bucket, check_name, check_range, setting


def check_prefix(value: str) -> str | None:
    if value.startswith("/"):
        return f"expected an S3 key prefix without a leading '/', got {value!r}"
    if len(value.encode()) > 1024:
        return "expected a key prefix of at most 1024 bytes"
    return None


def check_patterns(value: tuple[str, ...]) -> str | None:
    if any(not pattern for pattern in value):
        return "expected non-empty glob patterns such as 'tmp/keep/*' or '*.lock'"
    return None


@dataclass(frozen=True, kw_only=True)
class PurgeJob(FunctionSettings):
    """Keys every purge target takes."""

    name: str = setting(check=check_name, doc="unique among purge jobs")
    target: str = setting(doc="what to purge: s3")
    schedule: str = setting(check=check_schedule, doc="rate(...) or six-field cron(...)")
    timezone: str | None = setting(
        None, check=check_timezone, doc="run cron() at this local time (EventBridge Scheduler)"
    )
    older_than: Duration = setting(doc="delete what is older than this: 30s, 15m, 1h, 7d")
    dry_run: bool = setting(False, doc="report what would be deleted, delete nothing")
    # Guard rails: a run stops ("capped", an error) before deleting past either cap.
    max_deletes: int | None = setting(
        None, check=check_range(1, 10**9), doc="at most this many deletions per run"
    )
    max_delete_percent: float | None = setting(
        None,
        check=check_range(0, 100),
        doc="at most this percentage of what the run has examined so far",
    )
    # Continuation: what happens to the rest when a run reaches its time budget.
    on_timeout: Literal["next-schedule", "continue"] = setting(
        "next-schedule", doc="leave the rest to the next schedule, or hand on to a new invocation"
    )
    max_hops: int = setting(
        10, check=check_range(1, 100), doc="with on_timeout = continue: hand-offs per schedule"
    )
    timeout: int = timeout_setting(900)  # the job stops cleanly before it and reports how far
    memory: int = memory_setting(512)


@dataclass(frozen=True, kw_only=True)
class S3Purge(PurgeJob):
    """Delete objects under a prefix whose LastModified is older than `older_than`."""

    target: Literal["s3"] = setting(doc="what to purge")
    bucket: str = setting(check=check_bucket, doc="bucket to purge")
    prefix: str = setting(check=check_prefix, doc="only keys under this prefix; '' is the bucket")
    exclude: tuple[str, ...] = setting(
        (), check=check_patterns, doc="glob patterns (fnmatch, on the whole key) never deleted"
    )


# The `target` key selects the model. Further targets register here.
PURGE_TARGETS: dict[str, type[PurgeJob]] = {"s3": S3Purge}
