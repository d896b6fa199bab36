"""`ops invoke` end to end: the real CLI runs the purge handler against a moto server on
127.0.0.1 through `--endpoint-url`, as a user would try a job locally."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from click.testing import CliRunner

from ops.cli import cli
from tests.configs import one_job

pytestmark = pytest.mark.e2e

CONFIG = one_job() + 'exclude = ["tmp/keep/*"]\n'


def age(bucket: str, keys: list[str], by: timedelta) -> None:
    """Backdate objects in the server's store (it runs in this process), instead of waiting."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    when = (datetime.now(UTC) - by).replace(tzinfo=None)
    for key in keys:
        s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_object(bucket, key).last_modified = when


def test_ops_invoke_purges_through_the_endpoint_and_prints_the_report(
    moto_endpoint, write_config
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-west-1")
    s3.create_bucket(
        Bucket="acme-media", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    old = [f"tmp/{i:03d} photo+1.jpg" for i in range(120)] + ["tmp/keep/a.jpg", "other/b.jpg"]
    for key in [*old, "tmp/fresh.jpg"]:
        s3.put_object(Bucket="acme-media", Key=key, Body=b"x")
    age("acme-media", old, timedelta(hours=2))
    path = write_config(CONFIG)
    args = ["invoke", "tmp-images", "--config", str(path), "--endpoint-url", moto_endpoint]
    result = CliRunner().invoke(cli, [*args, "--region", "eu-west-1"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["status"], report["deleted"], report["failed"]) == ("finished", 120, {})
    assert report["kept"] == {"excluded": 1, "too-young": 1}
    assert report["api_calls"] == {"DeleteObjects": 1, "GetBucketVersioning": 1, "ListObjectsV2": 1}
    left = [o["Key"] for o in s3.list_objects_v2(Bucket="acme-media")["Contents"]]
    assert left == ["other/b.jpg", "tmp/fresh.jpg", "tmp/keep/a.jpg"]
    assert '"message":"purge report"' in result.stderr  # the function's logs go to stderr
