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
        if not isinstance(record, Mapping) or record.get("eventSource") != "aws:s3":
            raise Rejected("not an S3 event record")
        name = str(record.get("eventName", ""))
        if not name.startswith("ObjectCreated:"):
            raise Rejected(f"{name or 'an unnamed event'} is not an ObjectCreated event")
        s3 = record.get("s3") or {}
        obj, bucket = s3.get("object") or {}, (s3.get("bucket") or {}).get("name")
        if not bucket or not obj.get("key"):
            raise Rejected("the record names no bucket or key")
        if not obj.get("versionId"):
            raise Rejected("the object has no versionId: is the bucket versioned?")
        return cls(
            region=str(record.get("awsRegion", "")),
            bucket=str(bucket),
            key=unquote_plus(str(obj["key"])),
            version_id=str(obj["versionId"]),
            sequencer=str(obj.get("sequencer", "")),
            size=int(obj.get("size", 0)),
            event_name=name,
        )


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
