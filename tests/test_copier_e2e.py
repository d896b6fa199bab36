"""The delayed replica end to end on a moto server: `ops apply` of a primary and a delayed DR
region, then the DR region's copier run under its own rendered role with moto's IAM enforcement
on, and again with one action taken out of that role, which must fail.

moto checks the request's own action only: CopyObject as `s3:PutObject` on the replica (AWS also
checks `s3:GetObjectVersion` on the source version, which the rendered role grants and
test_deployer_render checks); a versioned HeadObject as `s3:GetObjectVersion` with the patch in
tests/moto_gaps.py, as AWS does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from functions.deployer import copier
from functions.runtime import aws as function_clients
from tests.policy_conditions import denied, recording, role_policies
from tests.test_bundled_stack_e2e import aws, enforced, ops, without

pytestmark = pytest.mark.e2e

PRIMARY, DR = "eu-west-1", "ap-northeast-1"
SOURCE, REPLICA = "acme-dr-code-eu-west-1", "acme-dr-code-ap-northeast-1"
COPIER = "acme-dr-deployer-deployer-copier"
KEY = "deploy/prod/api.zip"
CONFIG = f"""
[stack]
name = "acme-dr"

[deployer]
region = "{PRIMARY}"
bucket = "{SOURCE}"
stages = ["prod"]
functions = ["api"]
writers = ["arn:aws:iam::123456789012:role/ci"]
replicas = {{ "{DR}" = {{ bucket = "{REPLICA}", mode = "delayed", delay = "1h" }} }}
"""


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    path = tmp_path_factory.mktemp("dr") / "ops.toml"
    path.write_text(CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        result = ops(moto_endpoint, "apply", "--config", str(path), "--region", PRIMARY, "--yes")
        assert result.exit_code == 0, result.stderr
        for region, bucket in ((PRIMARY, SOURCE), (DR, REPLICA)):  # tests/moto_gaps.py
            versioning = aws(moto_endpoint, "s3", region).get_bucket_versioning(Bucket=bucket)
            assert versioning["Status"] == "Enabled"
        yield path
        gone = ops(moto_endpoint, "destroy", "--config", str(path), "--region", PRIMARY, "--yes")
        assert gone.exit_code == 0, gone.stderr
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)


def upload(endpoint: str, body: bytes, age: timedelta, key: str = KEY) -> str:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    answer = aws(endpoint, "s3", PRIMARY).put_object(Bucket=SOURCE, Key=key, Body=body)
    version = s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_object(
        SOURCE, key, version_id=answer["VersionId"]
    )
    version.last_modified = (datetime.now(UTC) - age).replace(tzinfo=None)
    return str(answer["VersionId"])


class Context:
    function_name = COPIER
    aws_request_id = "e2e"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def run_as_copier(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The copier's handler with its deployed job and its role's STS credentials, IAM enforced."""
    role = role_of_dr(endpoint)
    creds = aws(endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::123456789012:role/{role}", RoleSessionName="copier-e2e"
    )["Credentials"]
    config = aws(endpoint, "lambda", DR).get_function_configuration(FunctionName=COPIER)
    monkeypatch.setenv("OPS_JOB", config["Environment"]["Variables"]["OPS_JOB"])
    monkeypatch.setenv("AWS_REGION", DR)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    function_clients.reset()  # a session keeps the credentials it found
    try:
        with enforced():
            return copier.handler(
                {"source": "aws.events", "detail-type": "Scheduled Event"}, Context()
            )
    finally:
        function_clients.reset()


def role_of_dr(endpoint: str) -> str:
    config = aws(endpoint, "lambda", DR).get_function(FunctionName=COPIER)["Configuration"]
    return str(config["Role"]).rsplit("/", 1)[-1]


def held(endpoint: str, key: str = KEY) -> bytes | None:
    try:
        answer = aws(endpoint, "s3", DR).get_object(Bucket=REPLICA, Key=key)
    except ClientError:
        return None
    return bytes(answer["Body"].read())


def test_both_stacks_exist_and_only_the_dr_one_has_the_copier(
    moto_endpoint: str, deployed: Path
) -> None:
    for region in (PRIMARY, DR):
        stack = aws(moto_endpoint, "cloudformation", region).describe_stacks(StackName="acme-dr")
        assert stack["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    names = [
        f["FunctionName"]
        for f in aws(moto_endpoint, "lambda", PRIMARY).list_functions()["Functions"]
    ]
    assert COPIER not in names
    rules = aws(moto_endpoint, "events", DR).list_rules()["Rules"]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(5 minutes)"]


def test_the_copier_copies_only_what_is_old_enough_under_its_own_role(
    moto_endpoint: str, deployed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = upload(moto_endpoint, b"good build", timedelta(hours=2))
    with recording() as calls:
        report = run_as_copier(moto_endpoint, monkeypatch)
    # moto skips the role's s3:prefix condition on ListBucketVersions: evaluated here instead
    # (the replica's own listing, s3:ListBucket, is granted without one).
    assert [c.action for c in calls] == ["s3:ListBucket", "s3:ListBucketVersions"], calls
    policies = role_policies(aws(moto_endpoint, "iam"), role_of_dr(moto_endpoint))
    assert denied(policies, calls) == []
    assert report["counts"]["copied"] == 1, report
    assert held(moto_endpoint) == b"good build"
    upload(moto_endpoint, b"bad build", timedelta(minutes=5))  # younger than the delay
    again = run_as_copier(moto_endpoint, monkeypatch)
    assert [i["outcome"] for i in again["items"]] == ["current"], again
    assert again["items"][0]["version_id"] == good
    assert held(moto_endpoint) == b"good build"


@pytest.mark.parametrize(
    "action", ["s3:ListBucketVersions", "s3:GetObjectVersion", "s3:PutObject", "s3:ListBucket"]
)
def test_the_copier_fails_when_its_role_lacks_one_action_it_needs(
    moto_endpoint: str, deployed: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    key = f"deploy/prod/{action.split(':')[1]}.zip"  # a key of its own, old enough
    upload(moto_endpoint, b"needs it", timedelta(hours=3), key)
    with (
        without(moto_endpoint, role_of_dr(moto_endpoint), action),
        pytest.raises((ClientError, copier.CopyFailed)) as failed,
    ):
        run_as_copier(moto_endpoint, monkeypatch)
    text = str(failed.value)  # a HEAD's 403 has no body, so no code but the status
    assert "AccessDenied" in text or ("403" in text and "Forbidden" in text), text
    assert held(moto_endpoint, key) is None
