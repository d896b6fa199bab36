"""`[[purge]]`: scheduled jobs that delete what is old. One model per `target`."""

from __future__ import annotations

import re
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


DEFAULT_MAX_DELETES = 10_000
# lambda-versions and ebs-snapshots, where most of what is examined is meant to stay (versions in
# use or newest, the last days' snapshots): deleting more than half of it in one run is a mistake
# to stop at. s3 and log-streams have no such default: emptying a prefix whose every object is old
# (tmp/ after a quiet hour), or a group of quiet streams, is what those jobs are for.
DEFAULT_LISTED_PERCENT = 50.0


def percent_setting(default: float | None) -> float | None:
    return setting(
        default,
        check=check_range(0, 100),
        doc="at most this percentage of what the run has examined so far (0: no limit)"
        + (f"; default {default:g}" if default is not None else ""),
    )


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
    # Safe by default: a run deletes at most DEFAULT_MAX_DELETES; 0, written, means no limit.
    max_deletes: int = setting(
        DEFAULT_MAX_DELETES,
        check=check_range(0, 10**9),
        doc=f"at most this many deletions per run (default {DEFAULT_MAX_DELETES:,}; 0: no limit)",
    )
    max_delete_percent: float | None = percent_setting(None)
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
    # Required for mode = "lambda" (ops.models.lifecycle.check_lifecycle says so by key); a
    # lifecycle rule runs when S3 runs it, once a day, and takes no schedule.
    schedule: str = setting("", check=check_schedule, doc="rate(...) or six-field cron(...)")
    mode: Literal["lambda", "lifecycle"] = setting(
        "lambda", doc="a scheduled Lambda, or a rule in the bucket's own lifecycle configuration"
    )
    bucket: str = setting(check=check_bucket, doc="bucket to purge")
    prefix: str = setting(check=check_prefix, doc="only keys under this prefix; '' is the bucket")
    exclude: tuple[str, ...] = setting(
        (), check=check_patterns, doc="glob patterns (fnmatch, on the whole key) never deleted"
    )


def check_function_prefix(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{0,64}", value):
        allowed = "letters, digits, - and _"
        return f"expected the start of a Lambda function name ({allowed}), got {value!r}"
    return None


def check_log_group_prefix(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_/.#-]{1,512}", value):
        return (
            "expected the start of a log group name such as '/aws/lambda/app-' "
            f"(letters, digits and _ / . # -), got {value!r}"
        )
    return None


def check_selection_tags(value: dict[str, str]) -> str | None:
    if not value:
        return "expected at least one tag: snapshots are selected, and may only be deleted, by tag"
    if any(not key or key.startswith("aws:") for key in value):
        return "expected tag keys that are not empty and do not start with 'aws:'"
    return None


def rate_setting(default: float, limit: str) -> float:
    """Requests per second the job allows itself against an account-wide `limit`."""
    doc = f"requests per second this job makes at most (the account shares {limit})"
    return setting(default, check=check_range(0.1, 10), doc=doc)


@dataclass(frozen=True, kw_only=True)
class LambdaVersionsPurge(PurgeJob):
    """Delete old published versions that nothing refers to; keep the newest `keep`."""

    target: Literal["lambda-versions"] = setting(doc="what to purge")
    function_prefix: str = setting(
        "", check=check_function_prefix, doc="functions whose name starts with this ('' = all)"
    )
    tags: dict[str, str] = setting({}, doc="and that carry all of these tags")
    keep: int = setting(3, check=check_range(0, 1000), doc="newest published versions kept")
    max_rate: float = rate_setting(5.0, "about 15 Lambda control-plane requests/s")
    max_delete_percent: float | None = percent_setting(DEFAULT_LISTED_PERCENT)


@dataclass(frozen=True, kw_only=True)
class EbsSnapshotsPurge(PurgeJob):
    """Delete the account's own tagged snapshots that no registered AMI uses."""

    target: Literal["ebs-snapshots"] = setting(doc="what to purge")
    tags: dict[str, str] = setting(check=check_selection_tags, doc="snapshots with all these tags")
    max_rate: float = rate_setting(5.0, "EC2's mutating-call bucket, refilled at 5/s")
    max_delete_percent: float | None = percent_setting(DEFAULT_LISTED_PERCENT)


@dataclass(frozen=True, kw_only=True)
class LogStreamsPurge(PurgeJob):
    """Delete log streams whose last event (or creation, if empty) is older than `older_than`."""

    target: Literal["log-streams"] = setting(doc="what to purge")
    log_group_prefix: str = setting(
        check=check_log_group_prefix, doc="log groups whose name starts with this"
    )
    max_rate: float = rate_setting(5.0, "15 DeleteLogStream and 25 DescribeLogStreams/s")


# The `target` key selects the model. Further targets register here.
PURGE_TARGETS: dict[str, type[PurgeJob]] = {
    "s3": S3Purge,
    "lambda-versions": LambdaVersionsPurge,
    "ebs-snapshots": EbsSnapshotsPurge,
    "log-streams": LogStreamsPurge,
}
