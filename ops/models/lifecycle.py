"""`[[purge]] target = "s3", mode = "lifecycle"`: the job is a rule in the bucket's own lifecycle
configuration, which S3 runs for free once a day, instead of a Lambda on a schedule.

What a lifecycle rule cannot do is a config error here, naming the key: it works in whole days
(rounded to the next midnight UTC), has no excludes, no caps, no dry run, no schedule or time
zone of ours, and nothing to hand on. `suggestions` names the Lambda jobs that would fit one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ops.models.purge import DEFAULT_MAX_DELETES, PurgeJob, S3Purge
from ops.schema import Loader

DAY = 86_400
RULE_PREFIX = "ops:"  # rule ids are ops:<stack>:<job>; ':' is in neither name, so ids never clash


def rule_id(stack: str, job: str) -> str:
    """The id of the job's lifecycle rule: the stack and the job, so two stacks with a job of
    the same name on one bucket each keep their own rule."""
    return f"{RULE_PREFIX}{stack}:{job}"


def owned_prefix(stack: str) -> str:
    """Every rule id this stack owns starts with this (and no other stack's does)."""
    return f"{RULE_PREFIX}{stack}:"


def is_lifecycle(job: Any) -> bool:
    return isinstance(job, S3Purge) and job.mode == "lifecycle"


def days(job: S3Purge) -> int:
    return int(job.older_than) // DAY


def lifecycle_problems(job: S3Purge) -> Iterator[tuple[str, str]]:
    """(key, what was expected) for each setting a lifecycle rule cannot honour."""
    cannot = "a lifecycle rule cannot"
    if job.older_than < DAY or job.older_than % DAY:
        yield (
            "older_than",
            f"expected whole days (1d, 7d...) with mode = 'lifecycle': S3 counts lifecycle age in "
            f"days, rounded to midnight UTC; got {job.older_than} (use mode = 'lambda')",
        )
    if job.exclude:
        yield "exclude", f"{cannot} skip keys by pattern: remove exclude or use mode = 'lambda'"
    # max_deletes has a default (the Lambda job's safety net); only another value is a cap
    # the job asks for. 0 is "no limit" for either.
    asked = {
        "max_deletes": job.max_deletes not in (DEFAULT_MAX_DELETES, 0),
        "max_delete_percent": job.max_delete_percent not in (None, 0),
    }
    for cap in (key for key, given in asked.items() if given):
        yield cap, f"{cannot} stop after a number of deletions: remove {cap} or use 'lambda'"
    if job.dry_run:
        yield "dry_run", f"{cannot} report without deleting: use mode = 'lambda' for a dry run"
    if job.schedule:
        yield "schedule", "S3 runs lifecycle rules once a day at a time of its own: remove it"
    if job.timezone:
        yield "timezone", "S3 runs lifecycle rules once a day in UTC: remove timezone"
    if job.on_timeout != "next-schedule":
        yield "on_timeout", "a lifecycle rule has no time budget to run out of: remove on_timeout"


def check_lifecycle(jobs: tuple[Any, ...], _stack: Any, loader: Loader) -> None:
    """Each S3 job's mode-specific keys: a lifecycle job's impossible settings, a Lambda job's
    missing schedule (optional in the model only because a lifecycle job takes none)."""
    for index, job in enumerate(jobs):
        if not isinstance(job, S3Purge):
            continue
        if job.mode == "lambda" and not job.schedule:
            loader.problem(f"purge[{index}].schedule", "missing required key")
        if job.mode == "lifecycle":
            for key, message in lifecycle_problems(job):
                loader.problem(f"purge[{index}].{key}", message)


def fits_lifecycle(job: PurgeJob) -> bool:
    """A Lambda S3 job that a lifecycle rule would do alike: prefix and whole days only."""
    if not isinstance(job, S3Purge) or job.mode != "lambda":
        return False
    as_rule = {"mode": "lifecycle", "schedule": "", "timezone": None, "on_timeout": "next-schedule"}
    lifecycle = S3Purge(**{**_fields(job), **as_rule})
    return not list(lifecycle_problems(lifecycle))


def suggestions(jobs: tuple[PurgeJob, ...]) -> list[str]:
    """One line per Lambda job that could be a free lifecycle rule (for `ops validate`)."""
    return [
        f"purge[{i}] {job.name}: fits an S3 lifecycle rule (a prefix and whole days, no "
        "excludes, caps or dry run): mode = 'lifecycle' deletes it without a Lambda, and S3 "
        "charges nothing for lifecycle expirations (see docs/purge.md for what it cannot do)"
        for i, job in enumerate(jobs)
        if fits_lifecycle(job)
    ]


def _fields(job: S3Purge) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: getattr(job, f.name) for f in fields(job)}
