"""The S3 purge's client parses listing timestamps with `fromisoformat` and returns exactly what
botocore's own parser returns, for every form S3 (or an S3-compatible endpoint) may send; the
parser is the purge client's alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.handlers import _looks_like_special_case_error
from botocore.utils import parse_timestamp as botocore_parse
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from functions.purge import s3 as purge
from functions.runtime.aws import (
    PARSED_ONCE,
    build_client,
    parse_once,
    parse_timestamp,
    whole_s3_result,
)

FORMS = [
    "2024-05-01T10:00:00.000Z",  # ListObjectsV2 / ListObjectVersions
    "2024-05-01T10:00:00Z",
    "2024-05-01T10:00:00.5Z",
    "2024-05-01T10:00:00.123456Z",
    "2024-05-01T10:00:00.123456789Z",  # nanoseconds (some S3-compatible endpoints)
    "2024-05-01T10:00:00.000+00:00",
    "2024-05-01T12:30:00+02:30",
    "2024-05-01T05:00:00-05:00",
    "2024-05-01T10:00:00",  # no zone: botocore leaves it naive
    "Wed, 01 May 2024 10:00:00 GMT",  # RFC 822: Last-Modified and Expires headers
    "1714557600",  # epoch seconds
    "1714557600.25",
]


def same(a: datetime, b: datetime) -> bool:
    return a == b and a.utcoffset() == b.utcoffset() and (a.tzinfo is None) == (b.tzinfo is None)


@pytest.mark.parametrize("value", FORMS)
def test_every_form_parses_to_what_botocore_gives(value: str) -> None:
    assert same(parse_timestamp(value), botocore_parse(value))


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),
    st.sampled_from(["Z", "+00:00", "+05:30", "-08:00"]),
    st.sampled_from([0, 1, 3, 6]),
)
def test_any_iso_timestamp_parses_to_what_botocore_gives(
    moment: datetime, zone: str, digits: int
) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    value = text + zone
    assert same(parse_timestamp(value), botocore_parse(value))


def test_a_malformed_timestamp_is_an_error_as_in_botocore() -> None:
    with pytest.raises(ValueError):
        botocore_parse("2024-13-01T10:00:00Z")
    with pytest.raises(ValueError):
        parse_timestamp("2024-13-01T10:00:00Z")


@mock_aws
def test_the_purge_client_parses_listings_with_it_and_no_other_client_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    seen: list[Any] = []

    def spy(value: Any) -> datetime:
        seen.append(value)
        return parse_timestamp(value)

    s3 = build_client("s3", max_attempts=3, max_pool=2, timestamp_parser=spy)
    s3.create_bucket(Bucket="acme-media")
    s3.put_object(Bucket="acme-media", Key="tmp/a.jpg", Body=b"x")
    [listed] = s3.list_objects_v2(Bucket="acme-media")["Contents"]
    assert seen and seen[-1].endswith("Z")
    assert listed["LastModified"].utcoffset() == timedelta(0)
    assert abs(listed["LastModified"] - datetime.now(UTC)) < timedelta(minutes=5)
    count = len(seen)
    [plain] = boto3.client("s3").list_objects_v2(Bucket="acme-media")["Contents"]
    assert len(seen) == count  # the default session's parser is untouched
    assert plain["LastModified"] == listed["LastModified"]


@mock_aws
def test_the_purge_client_parses_with_fromisoformat_and_the_default_client_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    plain = boto3.client("s3")
    plain.create_bucket(Bucket="acme-media")
    plain.put_object(Bucket="acme-media", Key="tmp/a.jpg", Body=b"x")
    [ours] = purge.s3_client().list_objects_v2(Bucket="acme-media")["Contents"]
    [theirs] = plain.list_objects_v2(Bucket="acme-media")["Contents"]
    assert ours["LastModified"] == theirs["LastModified"]
    assert ours["LastModified"].tzinfo is UTC  # what fromisoformat gives for "Z"
    assert theirs["LastModified"].tzinfo is not UTC  # dateutil's tzutc()


# botocore's check for an S3 error in a 200 response, replaced for the purge's bulk calls.
LISTED = b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="x"><Name>b</Name>'
WHOLE = LISTED + b"</ListBucketResult>"
ERROR = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code></Error>'


@pytest.mark.parametrize(
    ("body", "whole"),
    [
        (WHOLE, True),
        (WHOLE + b"\n", True),
        (b"<DeleteResult/>", True),
        (b"", True),  # botocore leaves an empty body to the parser too
        (ERROR, False),  # an error in a 200 response: a 500 to retry
        (WHOLE[:-7], False),  # cut off mid-stream
        (LISTED, False),
        (b"not xml", False),
    ],
)
def test_whole_s3_result_answers_as_botocores_check(body: bytes, whole: bool) -> None:
    assert whole_s3_result(body) is whole
    assert _looks_like_special_case_error(200, body) is (not whole)


def status_after_check(s3: Any, operation: str, body: bytes) -> int:
    model = s3.meta.service_model.operation_model(operation)
    response = {"status_code": 200, "body": body, "headers": {}}
    s3.meta.events.emit(
        f"before-parse.s3.{operation}",
        operation_model=model,
        response_dict=response,
        customized_response_dict={},
    )
    return int(response["status_code"])


def test_parse_once_checks_bulk_calls_without_a_tree_and_leaves_other_clients_alone() -> None:
    s3 = parse_once(build_client("s3", 1, 1, region="us-east-1"))
    other = build_client("s3", 1, 1, region="us-east-1")
    parse_once(s3)  # a second time changes nothing
    for operation in PARSED_ONCE:
        assert status_after_check(s3, operation, ERROR) == 500
        assert status_after_check(s3, operation, WHOLE[:-7]) == 500
        assert status_after_check(s3, operation, WHOLE) == 200
    # Well-formed only at its ends: botocore's check (a whole parse) fails it, the root-and-end
    # check does not; so the other client, and CopyObject on this one, kept botocore's.
    odd = b"<ListBucketResult><Name></ListBucketResult>"
    assert status_after_check(s3, "ListObjectsV2", odd) == 200
    assert status_after_check(other, "ListObjectsV2", odd) == 500
    assert status_after_check(s3, "CopyObject", odd) == 500
    assert status_after_check(s3, "CopyObject", ERROR) == 500


def test_the_purge_client_parses_bulk_responses_once() -> None:
    s3 = purge.s3_client()
    assert status_after_check(s3, "ListObjectsV2", b"<R><Name></R>") == 200
