"""`ops apply/plan/status/destroy` end to end: the real CLI against a moto server on 127.0.0.1.

moto's CloudFormation runs a change set synchronously when it is executed and records only
stack-level events (no resource events, no ClientRequestToken on them), and reports a resource
it cannot create as an error of ExecuteChangeSet rather than as *_FAILED events; the event
filtering and failure reasons are covered against recorded answers in test_deploy_execute.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ops.cli import cli
from ops.package import build_bundle
from tests.configs import two_jobs

pytestmark = pytest.mark.e2e

# Operations that change nothing: everything else counts as a write.
READ_PREFIXES = ("Describe", "Get", "List", "Head")


def config(path: Path, stack: str, older_than: str = "1h") -> Path:
    path.write_text(two_jobs(stack, older_than))
    return path


def ops(endpoint: str, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--endpoint-url", endpoint])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def aws(endpoint: str, service: str, region: str = "eu-west-1") -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


def writes(counted: Counter[str]) -> list[str]:
    return sorted(op for op in counted if not op.startswith(READ_PREFIXES))


def test_apply_creates_then_reports_no_changes_then_updates_one_function(
    moto_endpoint: str, tmp_path: Path, calls: Counter[str]
) -> None:
    path = config(tmp_path / "ops.toml", "e2e-life")
    first = ops(moto_endpoint, "apply", "--config", str(path), "--region", "eu-west-1", "--yes")
    assert first.exit_code == 0, first.stderr
    assert "CREATE_COMPLETE" in first.stderr and "eu-west-1  created" in first.stderr
    lam = aws(moto_endpoint, "lambda")
    zipped = build_bundle("purge").zip_bytes()
    fn = lam.get_function(FunctionName="e2e-life-purge-tmp-images")["Configuration"]
    assert fn["CodeSha256"] == base64.b64encode(hashlib.sha256(zipped).digest()).decode()
    bucket = "ops-artifacts-123456789012-eu-west-1"
    assert aws(moto_endpoint, "s3").head_object(Bucket=bucket, Key=build_bundle("purge").key)

    calls.clear()
    again = ops(moto_endpoint, "apply", "--config", str(path), "--region", "eu-west-1", "--yes")
    assert again.exit_code == 0, again.stderr
    assert "e2e-life in eu-west-1: no changes" in again.stderr
    assert writes(calls) == ["CreateChangeSet", "DeleteChangeSet"]  # the check itself, no more

    before = lam.get_function(FunctionName="e2e-life-purge-tmp-images")["Configuration"]
    config(path, "e2e-life", older_than="2d")
    changed = ops(moto_endpoint, "apply", "--config", str(path), "--region", "eu-west-1", "--yes")
    assert changed.exit_code == 0, changed.stderr
    assert "~ Modify  PurgeOldLogsFunction" in changed.stderr
    assert "PurgeTmpImagesFunction" not in changed.stderr
    old_logs = lam.get_function(FunctionName="e2e-life-purge-old-logs")["Configuration"]
    assert json.loads(old_logs["Environment"]["Variables"]["OPS_JOB"])["older_than"] == 172800
    after = lam.get_function(FunctionName="e2e-life-purge-tmp-images")["Configuration"]
    assert after["LastModified"] == before["LastModified"]


def test_plan_status_and_destroy(moto_endpoint: str, tmp_path: Path) -> None:
    path = str(config(tmp_path / "ops.toml", "e2e-cycle"))
    plan = ops(moto_endpoint, "plan", "--config", path, "--region", "eu-west-1")
    assert plan.exit_code == 0, plan.stderr
    assert "+ Add     PurgeTmpImagesFunction" in plan.stderr
    cfn = aws(moto_endpoint, "cloudformation")
    assert not [
        s
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackName"] == "e2e-cycle" and s["StackStatus"] != "DELETE_COMPLETE"
    ]

    applied = ops(moto_endpoint, "apply", "--config", path, "--region", "eu-west-1", "--yes")
    assert applied.exit_code == 0, applied.stderr
    status = ops(moto_endpoint, "status", "--config", path, "--region", "eu-west-1", "--json")
    assert status.exit_code == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["status"] == "CREATE_COMPLETE"
    names = sorted(f["name"] for f in report["functions"])
    assert names == ["e2e-cycle-purge-old-logs", "e2e-cycle-purge-tmp-images"]

    refused = ops(moto_endpoint, "destroy", "--config", path, "--region", "eu-west-1")
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    gone = ops(moto_endpoint, "destroy", "--config", path, "--region", "eu-west-1", "--yes")
    assert gone.exit_code == 0, gone.stderr
    assert "e2e-cycle in eu-west-1: deleted" in gone.stderr
    missing = ops(moto_endpoint, "status", "--config", path, "--region", "eu-west-1")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_a_change_cloudformation_rejects_fails_with_the_reason(
    moto_endpoint: str, tmp_path: Path
) -> None:
    # A log group of the function's name already exists outside the stack: CloudFormation
    # cannot create the stack's own.
    aws(moto_endpoint, "logs").create_log_group(logGroupName="/aws/lambda/e2e-bad-purge-tmp-images")
    path = str(config(tmp_path / "ops.toml", "e2e-bad"))
    result = ops(moto_endpoint, "apply", "--config", path, "--region", "eu-west-1", "--yes")
    assert result.exit_code == 1
    assert "CloudFormation rejected the change to e2e-bad" in result.stderr
    assert "ResourceAlreadyExistsException: The specified log group already exists" in result.stderr
    assert "eu-west-1  failed" in result.stderr


def test_two_regions_each_get_the_stack_and_a_bucket(moto_endpoint: str, tmp_path: Path) -> None:
    path = str(config(tmp_path / "ops.toml", "e2e-two"))
    args = ["apply", "--config", path, "--region", "us-east-1", "--region", "eu-west-1", "--yes"]
    result = ops(moto_endpoint, *args)
    assert result.exit_code == 0, result.stderr
    summary = [line.split()[:2] for line in result.stderr.split("Summary:")[1].splitlines()[1:]]
    assert summary == [["us-east-1", "created:"], ["eu-west-1", "created:"]]
    for region in ("us-east-1", "eu-west-1"):
        stack = aws(moto_endpoint, "cloudformation", region).describe_stacks(StackName="e2e-two")
        assert stack["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        tags = {t["Key"]: t["Value"] for t in stack["Stacks"][0]["Tags"]}
        assert tags == {"ops:stack": "e2e-two", "team": "sre"}
    s3 = aws(moto_endpoint, "s3")
    assert s3.head_bucket(Bucket="ops-artifacts-123456789012-us-east-1")
    where = s3.get_bucket_location(Bucket="ops-artifacts-123456789012-eu-west-1")
    assert where["LocationConstraint"] == "eu-west-1"


def test_without_a_terminal_apply_needs_yes(moto_endpoint: str, tmp_path: Path, calls) -> None:
    path = str(config(tmp_path / "ops.toml", "e2e-ask"))
    result = ops(moto_endpoint, "apply", "--config", path, "--region", "eu-west-1")
    assert result.exit_code == 2 and "pass --yes" in result.stderr
    assert sum(calls.values()) == 0
