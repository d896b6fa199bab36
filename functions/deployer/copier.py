"""The delayed replica's copier: each run, make this region's deploy bucket hold what the primary
bucket held `delay` ago, one pinned version per key.

Live replication copies an upload within minutes, so a bad build reaches the DR region as fast as
the primary. A delayed replica's region runs this copier on a schedule instead. For every key
under the prefix of the primary bucket it lists the versions (ListObjectVersions, every page) and
decides:

- the key's latest entry is a delete marker: **withdrawn**, nothing is copied (deleting an upload
  in the primary before `delay` has passed stops it reaching the DR region; so does deleting its
  version);
- otherwise the entry that was latest at `now - delay`: none, or a delete marker, means
  **waiting**; a version is **current** when this bucket's object already carries its version id
  in `ops-source-version` metadata, **ahead** when it holds a newer upload (the replica never
  moves back, even when the primary's newest version is deleted after it was copied), else it
  is **copied**, with `CopySource` pinned to that version, so an upload that lands while the
  run is under way is never taken early.

The copy keeps the upload's metadata (the deployer checks `codesha256`), adds where it came from,
and asks S3 for a new SHA-256 checksum. Runs are idempotent: at-least-once schedules and retries
copy nothing twice; any event but a schedule's is rejected before the first call. One key's
failure is reported and the others go on; the run then fails, so the Errors alarm sees it and
the next schedule tries again. Keys left when the time budget runs out are **deferred** to the
next schedule. The copier never deletes anything in this region.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.runtime import aws, log, metrics
from functions.runtime.budget import TimeBudget
from functions.runtime.scheduled import not_a_schedule
from functions.runtime.settings import job as load_job
from functions.runtime.view import JobView, check, not_empty, positive

SOURCE_VERSION = "ops-source-version"
SOURCE_REGION = "ops-source-region"
SOURCE_MODIFIED = "ops-source-modified"
OUTCOMES = ("copied", "current", "ahead", "waiting", "withdrawn", "deferred", "failed")
GONE = frozenset({"NoSuchKey", "NoSuchVersion", "404"})  # deleted between listing and copy


class CopyFailed(Exception):
    """Raised after the report is logged: some key could not be copied."""


@dataclass(frozen=True)
class CopierSettings(JobView):
    """The copier's `$OPS_JOB` (templates/jobs.py::copier_job), read by `from_job`."""

    source_bucket: str = field(metadata=check(not_empty))  # the primary's deploy bucket
    source_region: str = field(metadata=check(not_empty))
    bucket: str = field(metadata=check(not_empty))  # this region's
    prefix: str = field(metadata=check(not_empty))
    delay: timedelta = field(metadata=check(positive))  # rendered as whole seconds


@dataclass(frozen=True)
class Entry:
    """One row of ListObjectVersions: an object version or a delete marker."""

    key: str
    version_id: str
    last_modified: datetime
    latest: bool
    marker: bool
    etag: str | None = None  # a version's; a delete marker has none


@dataclass
class CopyReport:
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, key: str, outcome: str, version_id: str | None = None, **extra: Any) -> None:
        self.items.append({"key": key, "outcome": outcome, "version_id": version_id, **extra})

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.items if item["outcome"] == outcome)

    def as_dict(self) -> dict[str, Any]:
        counts = {outcome: self.count(outcome) for outcome in OUTCOMES}
        return {
            "status": "failed" if counts["failed"] else "ok",
            "counts": counts,
            "items": self.items,
        }

    def metrics(self) -> dict[str, int]:
        return {outcome.capitalize(): self.count(outcome) for outcome in OUTCOMES}


def entries(pages: Iterable[Mapping[str, Any]]) -> Iterator[Entry]:
    for page in pages:
        for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
            for row in page.get(kind) or []:
                yield Entry(
                    key=row["Key"],
                    version_id=row["VersionId"],
                    last_modified=row["LastModified"],
                    latest=bool(row.get("IsLatest")),
                    marker=marker,
                    etag=row.get("ETag"),
                )


def held_etags(target: Any, bucket: str, prefix: str, page_size: int) -> dict[str, str]:
    """The ETag of every object under `prefix` in this region's bucket: one list call per
    1,000 keys, so a run where everything is current makes no per-key call."""
    pages = target.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
    )
    return {row["Key"]: row["ETag"] for page in pages for row in page.get("Contents") or []}


def by_key(rows: Iterable[Entry]) -> dict[str, list[Entry]]:
    """Each key's entries, newest first (the latest one first among equal times)."""
    keys: dict[str, list[Entry]] = {}
    for row in rows:
        keys.setdefault(row.key, []).append(row)
    for versions in keys.values():
        versions.sort(key=lambda e: (e.last_modified, e.latest), reverse=True)
    return dict(sorted(keys.items()))


def decide(versions: list[Entry], cutoff: datetime) -> tuple[str, Entry | None]:
    """("withdrawn" | "waiting" | "copy", the version to hold) for one key's entries."""
    latest = next((e for e in versions if e.latest), versions[0])
    if latest.marker:
        return "withdrawn", None
    then = next((e for e in versions if e.last_modified <= cutoff), None)
    if then is None or then.marker:
        return "waiting", None
    return "copy", then


def run(
    settings: CopierSettings,
    source: Any,
    target: Any,
    budget: TimeBudget,
    now: datetime | None = None,
    page_size: int = 1000,
) -> CopyReport:
    """Bring `target` (this region's S3 client) up to the primary's state `delay` ago."""
    cutoff = (now or datetime.now(UTC)) - settings.delay
    pages = source.get_paginator("list_object_versions").paginate(
        Bucket=settings.source_bucket,
        Prefix=settings.prefix,
        PaginationConfig={"PageSize": page_size},
    )
    report = CopyReport()
    held = held_etags(target, settings.bucket, settings.prefix, page_size)
    for key, versions in by_key(entries(pages)).items():
        if budget.expired():
            report.add(key, "deferred", reason="time budget: the next schedule goes on")
            continue
        verdict, version = decide(versions, cutoff)
        if version is None:
            report.add(key, verdict)
            continue
        try:
            outcome = _hold(settings, source, target, version, held.get(key))
            report.add(key, outcome, version.version_id)
        except Exception as exc:  # one key's failure must not stop the others
            code = _code(exc)
            if code in GONE:
                report.add(key, "withdrawn", version.version_id, reason=f"{code} during the run")
            else:
                report.add(key, "failed", version.version_id, error=f"{code}: {exc}"[:500])
    return report


def _hold(
    settings: CopierSettings, source: Any, target: Any, version: Entry, held_etag: str | None
) -> str:
    """ "current" when `target` already holds `version`'s bytes (the listing's ETag) or the
    version itself, "ahead" when it holds a newer upload (the replica never moves back), else
    copy it and say "copied". Only a key held with other bytes costs a HeadObject here."""
    if held_etag is not None and held_etag == version.etag:
        return "current"
    if held_etag is not None:
        held, modified = _held(target, settings.bucket, version.key)
        if held == version.version_id:
            return "current"  # the same version, with an ETag a multipart source does not share
        if modified is not None and modified >= version.last_modified:
            return "ahead"
    head = source.head_object(
        Bucket=settings.source_bucket, Key=version.key, VersionId=version.version_id
    )
    meta = {
        **(head.get("Metadata") or {}),
        SOURCE_VERSION: version.version_id,
        SOURCE_REGION: settings.source_region,
        SOURCE_MODIFIED: version.last_modified.isoformat(),
    }
    target.copy_object(
        Bucket=settings.bucket,
        Key=version.key,
        CopySource={
            "Bucket": settings.source_bucket,
            "Key": version.key,
            "VersionId": version.version_id,
        },
        CopySourceIfMatch=head["ETag"],
        MetadataDirective="REPLACE",
        Metadata=meta,
        ContentType=head.get("ContentType") or "application/zip",
        TaggingDirective="REPLACE",  # tags are not copied: no tagging rights needed either side
        ChecksumAlgorithm="SHA256",
    )
    return "copied"


def _held(target: Any, bucket: str, key: str) -> tuple[str | None, datetime | None]:
    """The source version this region holds for `key` and when that upload was made: from the
    copy's metadata, or for an upload made here directly its own LastModified."""
    try:
        head = target.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if _code(exc) in GONE:
            return None, None
        raise
    meta = head.get("Metadata") or {}
    try:
        modified = datetime.fromisoformat(meta[SOURCE_MODIFIED])
    except (KeyError, TypeError, ValueError):
        modified = head.get("LastModified")
    return meta.get(SOURCE_VERSION), modified


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(error.get("Code") or type(exc).__name__)


def handler(event: Any, context: Any) -> dict[str, Any]:
    region = os.environ["AWS_REGION"]
    settings = CopierSettings.from_job(load_job())
    log.bind(function=context.function_name, region=region, request_id=context.aws_request_id)
    dimensions = {"Copier": context.function_name, "Region": region}
    refused = not_a_schedule(event)
    if refused:  # only its schedule starts a copy; nothing is listed or copied
        log.warning("event rejected", reason=f"refused {refused}")
        metrics.emit({"Rejected": 1}, dimensions)
        return {
            "status": "rejected",
            "reason": f"refused {refused}: the copier runs on its schedule",
        }
    source = aws.client("s3", region=settings.source_region)
    report = run(settings, source, aws.client("s3"), TimeBudget.from_context(context))
    result = report.as_dict()
    log.info("copy report", report=result)
    metrics.emit(report.metrics(), dimensions)
    failed = [item for item in report.items if item["outcome"] == "failed"]
    if failed:
        first = failed[0]
        raise CopyFailed(
            f"{len(failed)} key(s) failed, first {first['key']}: {first['error']} "
            "(every key is in the copy report)"
        )
    return result
