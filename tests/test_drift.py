"""`ops drift`: moto 5.2 has no drift detection at all (DetectStackDrift and the describe calls
are not implemented), so the detection is tested against AWS's answers with a botocore Stubber;
the command's wiring and a missing stack run on a moto server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from ops.cli import cli
from ops.errors import TimedOut
from ops.operate.drift import detect, drift_lines
from tests.configs import two_jobs

REGION = "eu-west-1"
STACK = "acme-ops"


def _diff(path: str, expected: str, actual: str) -> dict[str, str]:
    return {
        "PropertyPath": path,
        "ExpectedValue": expected,
        "ActualValue": actual,
        "DifferenceType": "NOT_EQUAL",
    }


def _resource(logical: str, kind: str, status: str, *diffs: dict[str, str]) -> dict[str, Any]:
    return {
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}/x",
        "LogicalResourceId": logical,
        "PhysicalResourceId": logical.lower(),
        "ResourceType": kind,
        "StackResourceDriftStatus": status,
        "PropertyDifferences": list(diffs),
        "Timestamp": "2026-12-03T10:00:00Z",
    }


def _status(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}/x",
        "StackDriftDetectionId": "d-1",
        "DetectionStatus": state,
        "Timestamp": "2026-12-03T10:00:00Z",
        **extra,
    }


def _stack() -> dict[str, Any]:
    stack = {
        "StackName": STACK,
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}/x",
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": "2026-12-01T10:00:00Z",
    }
    return {"Stacks": [stack]}


def stubbed(*drift_pages: list[dict[str, Any]], first: str = "DETECTION_COMPLETE") -> Any:
    cfn = boto3.client("cloudformation", region_name=REGION)
    stub = Stubber(cfn)
    stub.add_response("describe_stacks", _stack(), {"StackName": STACK})
    stub.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-1"}, {"StackName": STACK})
    stub.add_response("describe_stack_drift_detection_status", _status("DETECTION_IN_PROGRESS"))
    stub.add_response("describe_stack_drift_detection_status", _status(first))
    for i, page in enumerate(drift_pages):
        answer: dict[str, Any] = {"StackResourceDrifts": page}
        if i < len(drift_pages) - 1:
            answer["NextToken"] = f"t{i}"
        expected: dict[str, Any] = {
            "StackName": STACK,
            "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"],
        }
        if i:
            expected["NextToken"] = f"t{i - 1}"
        stub.add_response("describe_stack_resource_drifts", answer, expected)
    stub.activate()
    return cfn, stub


def test_drift_botocore_stubber_waits_reads_every_page_and_sets_the_deployers_changes_apart() -> (
    None
):
    alias = _resource(
        "DeployerDeployerAlias",
        "AWS::Lambda::Alias",
        "MODIFIED",
        _diff("/FunctionVersion", "1", "7"),
        _diff("/Description", "", "ops-deployer version=7 previous=6"),
    )
    timeout = _resource(
        "PurgeTmpImagesFunction",
        "AWS::Lambda::Function",
        "MODIFIED",
        _diff("/Timeout", "300", "900"),
        _diff("/Code/S3Key", "functions/purge/a.zip", "deploy/prod/x.zip"),
    )
    deleted = _resource("DeadLetterQueueAlarm", "AWS::CloudWatch::Alarm", "DELETED")
    cfn, stub = stubbed([alias, timeout], [deleted])
    result = detect(cfn, STACK, REGION, timeout=60, sleep=lambda _s: None)
    stub.assert_no_pending_responses()
    assert result.drifted
    assert [(r.logical_id, r.real) for r in result.resources] == [
        ("DeadLetterQueueAlarm", True),
        ("DeployerDeployerAlias", False),
        ("PurgeTmpImagesFunction", True),
    ]
    lines = drift_lines(result)
    assert lines[0] == f"Stack {STACK} in {REGION}: DRIFTED (2 resources)"
    assert "      /Timeout: expected 300, actual 900" in lines
    assert not any("/Timeout" in line and "expected  " in line[:12] for line in lines)
    assert any(
        line.startswith("  expected  DeployerDeployerAlias  /FunctionVersion") for line in lines
    )


def test_drift_botocore_stubber_only_the_deployers_changes_is_in_sync() -> None:
    alias = _resource(
        "DeployerDeployerAlias",
        "AWS::Lambda::Alias",
        "MODIFIED",
        _diff("/FunctionVersion", "1", "3"),
    )
    cfn, _stub = stubbed([alias])
    result = detect(cfn, STACK, REGION, timeout=60, sleep=lambda _s: None)
    assert not result.drifted
    assert drift_lines(result)[0] == f"Stack {STACK} in {REGION}: IN_SYNC"


def test_drift_botocore_stubber_a_failed_detection_still_reports_what_it_checked() -> None:
    cfn, _stub = stubbed([], first="DETECTION_FAILED")
    # the FAILED status carries its reason: resources CloudFormation could not check
    result = detect(cfn, STACK, REGION, timeout=60, sleep=lambda _s: None)
    assert result.detection == "DETECTION_FAILED" and not result.drifted


def test_drift_botocore_stubber_times_out_with_exit_3() -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", _stack())
        stub.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-1"})
        stub.add_response("describe_stack_drift_detection_status", _status("DETECTION_IN_PROGRESS"))
        ticks = iter([0.0, 100.0])
        with pytest.raises(TimedOut) as caught:
            detect(cfn, STACK, REGION, timeout=10, sleep=lambda _s: None, clock=lambda: next(ticks))
    assert caught.value.exit_code == 3


@pytest.mark.e2e
def test_ops_drift_of_a_missing_stack_on_moto_exits_2(moto_endpoint: str, tmp_path: Path) -> None:
    config = tmp_path / "ops.toml"
    config.write_text(two_jobs("not-there"))
    argv = ["drift", "--config", str(config), "--region", REGION, "--endpoint-url", moto_endpoint]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Error: stack not-there does not exist in eu-west-1" in result.stderr
