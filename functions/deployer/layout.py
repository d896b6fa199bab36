"""Typed views of what the deployer reads: S3 event records, deploy keys, alias records.

Nothing here calls AWS. Every parser raises `Rejected` with a sentence a person can act on, so a
bad record is reported and skipped while the other records of the event go ahead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

MARK = "ops-deployer"  # first word of alias descriptions the deployer wrote
MAX_DESCRIPTION = 256  # Lambda's limit on an alias description


class Rejected(Exception):
    """A record the deployer will never deploy, whatever the retries: nothing was changed."""


@dataclass(frozen=True)
class Upload:
    """One S3 ObjectCreated record, key decoded."""

    region: str
    bucket: str
    key: str
    version_id: str
    sequencer: str
    size: int
    event_name: str

    @classmethod
    def from_record(cls, record: Any) -> Upload:
        """The upload a record describes; `Rejected` for any record of another shape (a field
        of the wrong type included), so the other records of the event still go ahead."""
        if not isinstance(record, Mapping) or record.get("eventSource") != "aws:s3":
            raise Rejected("not an S3 event record")
        name = record.get("eventName")
        if not isinstance(name, str) or not name.startswith("ObjectCreated:"):
            raise Rejected(f"{name or 'an unnamed event'!s:.100} is not an ObjectCreated event")
        s3 = _mapping(record.get("s3"), "s3")
        obj = _mapping(s3.get("object"), "s3.object")
        bucket = _mapping(s3.get("bucket"), "s3.bucket")
        bucket_name, key, version = bucket.get("name"), obj.get("key"), obj.get("versionId")
        if not _text(bucket_name) or not _text(key):
            raise Rejected("the record names no bucket or key")
        if not _text(version):
            raise Rejected("the object has no versionId: is the bucket versioned?")
        sequencer = obj.get("sequencer", "")
        if not isinstance(sequencer, str):
            raise Rejected(f"malformed record: s3.object.sequencer is {sequencer!r:.50}")
        return cls(
            region=str(record.get("awsRegion", "")),
            bucket=str(bucket_name),
            key=unquote_plus(str(key)),
            version_id=str(version),
            sequencer=sequencer,
            size=_size(obj.get("size", 0)),
            event_name=name,
        )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Rejected(f"malformed record: {where} is not an object ({type(value).__name__})")
    return value


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _size(value: Any) -> int:
    """S3 writes the object size as a JSON number; anything else is a malformed record."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Rejected(f"malformed record: s3.object.size is {value!r:.50}")
    try:
        size = int(value)
    except (ValueError, OverflowError):
        raise Rejected(f"malformed record: s3.object.size is {value!r:.50}") from None
    if size < 0:
        raise Rejected(f"malformed record: s3.object.size is {value!r:.50}")
    return size


def s3_records(event: Any) -> list[Any]:
    """The records of an S3 notification; ValueError for anything that is not one."""
    if isinstance(event, Mapping) and event.get("Event") == "s3:TestEvent":
        return []  # S3 sends it once when the notification is configured
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ValueError("not an S3 notification: expected a JSON object with a Records list")
    return records


@dataclass(frozen=True)
class Target:
    stage: str
    function: str


def parse_key(key: str, prefix: str) -> Target:
    """`<prefix><stage>/<function>.zip` -> Target, or Rejected for any other shape."""
    layout = f"{prefix}<stage>/<function>.zip"
    if not key.startswith(prefix) or not key.endswith(".zip"):
        raise Rejected(f"key {key!r} is outside the layout {layout}")
    parts = key[len(prefix) : -len(".zip")].split("/")
    if len(parts) != 2 or not all(parts):
        raise Rejected(f"key {key!r} is outside the layout {layout}")
    return Target(stage=parts[0], function=parts[1])


def allowed(function: str, patterns: Iterable[str]) -> bool:
    """Case-sensitive glob match against the allow-list (function names are case-sensitive)."""
    return any(fnmatch.fnmatchcase(function, p) for p in patterns)


def newer(sequencer: str, than: str) -> int:
    """1 if `sequencer` is later than `than`, 0 if the same, -1 if older.

    S3 says: sequencers of one key compare as hex after left-padding the shorter with zeros,
    which is comparing them as numbers.
    """
    a, b = int(sequencer, 16), int(than, 16)
    return (a > b) - (a < b)


@dataclass(frozen=True)
class AliasRecord:
    """What the deployer writes into an alias's description when it moves it.

    `version` guards the rest: if someone moved the alias by hand the description no longer
    describes its target, and the deployer ignores it.
    """

    version: str
    previous: str
    sequencer: str = ""
    code_sha256: str = ""
    s3_version: str = ""

    def describe(self) -> str:
        fields = [
            ("version", self.version),
            ("previous", self.previous),
            ("sequencer", self.sequencer),
            ("sha256", self.code_sha256),
            ("s3-version", self.s3_version),
        ]
        text = " ".join([MARK, *(f"{k}={v}" for k, v in fields if v)])
        # The S3 version id is the least needed piece: drop it before exceeding the limit.
        return text if len(text) <= MAX_DESCRIPTION else text[: text.rfind(" s3-version=")]

    @classmethod
    def parse(cls, description: str | None) -> AliasRecord | None:
        words = (description or "").split()
        if not words or words[0] != MARK:
            return None
        values = dict(w.partition("=")[::2] for w in words[1:] if "=" in w)
        if not values.get("version"):
            return None
        return cls(
            version=values["version"],
            previous=values.get("previous", ""),
            sequencer=values.get("sequencer", ""),
            code_sha256=values.get("sha256", ""),
            s3_version=values.get("s3-version", ""),
        )
