"""S3 purge, listing and deciding: which keys and versions under the prefix are old enough.

Pages come from `s3_prefetch`; `after` and `until` trim them to a hand-off's resume point and
the time budget; each key is then decided on its own (`decide_object`, `decide_versions`: pure
functions) into a `Decision`, what to delete and why the rest is kept. The cutoff rule is in
`functions/purge/s3.py`'s docstring.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.purge.settings import PurgeSettings
from functions.runtime.view import check, not_empty

PAGE_SIZE = 1000  # the most ListObjectsV2 / ListObjectVersions return per call


@dataclass(frozen=True, kw_only=True)
class S3Settings(PurgeSettings):
    """An s3 purge job's `$OPS_JOB` (ops/models/purge.py::S3Purge)."""

    bucket: str = field(metadata=check(not_empty))
    prefix: str = ""
    exclude: tuple[str, ...] = ()

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


def decide_object(obj: Mapping[str, Any], cutoff: datetime, job: S3Settings) -> Decision:
    key = obj["Key"]
    if not key.startswith(job.prefix):  # the listing's Prefix says so; we do not rely on it
        return Decision(key, kept=("outside-prefix",))
    if job.excluded(key):
        return Decision(key, kept=("excluded",))
    if obj["LastModified"] < cutoff:
        return Decision(key, delete=(Entry(key),))
    return Decision(key, kept=("too-young",))


def decide_versions(
    key: str, entries: list[Mapping[str, Any]], cutoff: datetime, job: S3Settings
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
    pages: Iterable[Mapping[str, Any]], cutoff: datetime, job: S3Settings
) -> Iterator[Decision]:
    for page in pages:
        for obj in page.get("Contents", ()):
            yield decide_object(obj, cutoff, job)


def version_decisions(
    pages: Iterable[Mapping[str, Any]], cutoff: datetime, job: S3Settings
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


def until(
    stop: Callable[[], bool], pages: Iterable[Mapping[str, Any]]
) -> Iterator[Mapping[str, Any]]:
    """Pages while `stop()` says go on; asked before each page but the first, so a run (and
    every hop of a hand-off chain) always makes progress."""
    for page in pages:
        yield page
        if stop():
            return


def is_versioned(s3: Any, bucket: str) -> bool:
    """Enabled and Suspended buckets both hold versions; only never-versioned ones do not."""
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    return status in ("Enabled", "Suspended")
