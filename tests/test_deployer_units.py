"""The deployer's pure pieces: records, keys, sequencers, alias records, zip checks."""

from __future__ import annotations

import io
import zipfile

import pytest

from functions.deployer import zipcheck
from functions.deployer.layout import AliasRecord, Rejected, Upload, newer, parse_key, s3_records
from ops.push import object_created_event


def test_a_record_key_is_decoded_and_its_version_pinned() -> None:
    event = object_created_event("eu-west-1", "b", "deploy/dev/my fn+x.zip", "v1", 3, "e", "0A")
    assert event["Records"][0]["s3"]["object"]["key"] == "deploy/dev/my+fn%2Bx.zip"
    upload = Upload.from_record(event["Records"][0])
    assert (upload.key, upload.version_id, upload.sequencer) == (
        "deploy/dev/my fn+x.zip",
        "v1",
        "0A",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eventName": "ObjectRemoved:Delete"}, "is not an ObjectCreated event"),
        ({"eventSource": "aws:sqs"}, "not an S3 event record"),
    ],
)
def test_records_that_are_no_uploads_are_rejected(change, reason) -> None:
    record = object_created_event("eu-west-1", "b", "k", "v", 1, "e", "01")["Records"][0]
    with pytest.raises(Rejected, match=reason):
        Upload.from_record({**record, **change})


def test_an_unversioned_upload_is_rejected() -> None:
    record = object_created_event("eu-west-1", "b", "k", "v", 1, "e", "01")["Records"][0]
    del record["s3"]["object"]["versionId"]
    with pytest.raises(Rejected, match="no versionId"):
        Upload.from_record(record)


def test_the_s3_test_event_has_no_records_and_garbage_is_refused() -> None:
    assert s3_records({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []
    for bad in ({}, {"Records": "x"}, [], None):
        with pytest.raises(ValueError):
            s3_records(bad)


def test_key_layout() -> None:
    target = parse_key("deploy/prod/worker-1.zip", "deploy/")
    assert (target.stage, target.function) == ("prod", "worker-1")
    for key in ("deploy/prod/.zip", "deploy//api.zip", "other/prod/api.zip", "deploy/prod/api.tgz"):
        with pytest.raises(Rejected, match="outside the layout"):
            parse_key(key, "deploy/")


def test_sequencers_compare_as_left_padded_hex() -> None:
    assert newer("0100", "FF") == 1
    assert newer("00FF", "FF") == 0
    assert newer("0055B9D5F7B1F0C6D4", "0055B9D5F7B1F0C6D5") == -1


def test_alias_record_round_trips_and_stays_within_lambdas_limit() -> None:
    record = AliasRecord("7", "6", "0055B9D5F7B1F0C6D4", "A" * 43 + "=", "v" * 1000)
    text = record.describe()
    assert len(text) <= 256 and "s3-version" not in text
    parsed = AliasRecord.parse(text)
    assert parsed == AliasRecord("7", "6", "0055B9D5F7B1F0C6D4", "A" * 43 + "=")
    assert AliasRecord.parse("set by hand") is None


def _zip(files: dict[str, bytes], comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.comment = comment
    return out.getvalue()


def ranges(data: bytes, calls: list[tuple[int, int]]):
    def fetch(first: int, last: int) -> bytes:
        calls.append((first, last))
        return data[first : last + 1]

    return fetch


def test_a_big_zip_is_checked_from_its_tail_alone() -> None:
    import os

    data = _zip({"noise.bin": os.urandom(400_000), "app.py": b"x = 1\n"}, comment=b"c" * 100)
    calls: list[tuple[int, int]] = []
    assert zipcheck.check_zip(ranges(data, calls), len(data)) == 400_006
    assert len(calls) == 1 and calls[0][1] == len(data) - 1
    assert calls[0][1] - calls[0][0] < 70_000  # kilobytes read, not the 400 kB object


def test_uncompressed_size_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipcheck, "MAX_UNZIPPED", 1000)
    data = _zip({"zeros": bytes(5000)})  # compresses to a few bytes, unpacks to 5000
    with pytest.raises(Rejected, match="unpacks to 5,000 bytes; Lambda allows 1,000"):
        zipcheck.check_zip(ranges(data, []), len(data))


def test_empty_and_corrupt_zips_are_rejected() -> None:
    with pytest.raises(Rejected, match="holds no files"):
        zipcheck.check_zip(ranges(_zip({}), []), len(_zip({})))
    good = _zip({"app.py": b"x"})
    broken = good.replace(b"PK\x01\x02", b"XX\x01\x02")  # central directory
    with pytest.raises(Rejected, match="not a valid zip"):
        zipcheck.check_zip(ranges(broken, []), len(broken))
    with pytest.raises(Rejected, match="Lambda takes at most"):
        zipcheck.check_zip(ranges(b"", []), zipcheck.MAX_ZIPPED + 1)


def test_the_sample_s3_event_parses_record_by_record() -> None:
    from functions.deployer.layout import parse_key
    from tests.conftest import load_event

    uploads = [Upload.from_record(r) for r in s3_records(load_event("s3_deploy_put.json"))]
    targets = [parse_key(u.key, "deploy/") for u in uploads]
    assert [(t.stage, t.function) for t in targets] == [("dev", "api"), ("prod", "worker-images")]
    assert newer(uploads[1].sequencer, uploads[0].sequencer) == 1
