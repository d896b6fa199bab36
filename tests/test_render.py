"""The rendered template: deterministic, cfn-lint clean, least privilege, wired as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from ops.config import load_config
from ops.lint import lint_template
from ops.render import render
from tests.conftest import ROOT

EXAMPLES = sorted(
    [
        ROOT / "ops.toml",
        *(ROOT / "examples").glob("*.toml"),
        *(ROOT / "examples").glob("*/ops.toml"),
    ]
)


def template(path=ROOT / "ops.toml") -> dict[str, Any]:
    return json.loads(render(load_config(path)))


def statements(tpl: dict[str, Any], role: str) -> list[dict[str, Any]]:
    [policy] = tpl["Resources"][role]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cfn_lint_reports_nothing(path) -> None:
    assert lint_template(render(load_config(path)), ["eu-west-1", "us-east-1"]) == []


def test_two_renders_in_separate_processes_are_byte_identical() -> None:
    cmd = [sys.executable, "-m", "ops.cli", "render", "--config", str(ROOT / "ops.toml")]
    first = subprocess.run(
        cmd, capture_output=True, check=True, env={"PYTHONHASHSEED": "1", "PATH": ""}
    )
    second = subprocess.run(
        cmd, capture_output=True, check=True, env={"PYTHONHASHSEED": "2", "PATH": ""}
    )
    assert first.stdout == second.stdout and first.stdout.startswith(b"{")
    assert first.stderr == b""


def test_yaml_render_is_the_same_template() -> None:
    import yaml

    from ops.render import build_template

    loaded = yaml.load(render(load_config(ROOT / "ops.toml"), "yaml"), Loader=yaml.BaseLoader)
    assert sorted(loaded["Resources"]) == sorted(
        build_template(load_config(ROOT / "ops.toml")).resources
    )


def test_no_wildcard_action_anywhere() -> None:
    tpl = template()
    for logical, resource in tpl["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in statements(tpl, logical):
            actions = statement["Action"]
            assert all("*" not in a for a in actions), (logical, actions)


def test_s3_purge_policy_is_scoped_to_bucket_and_prefix() -> None:
    tpl = template()
    by_sid = {s.get("Sid"): s for s in statements(tpl, "PurgeTmpImagesRole")}
    listing = by_sid["ListUnderPrefix"]
    assert listing["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::acme-media"}]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["tmp/*"]}}
    assert by_sid["DeleteUnderPrefix"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::acme-media/tmp/*"}
    ]
    assert by_sid["OwnLogGroup"]["Resource"] == [{"Fn::GetAtt": ["PurgeTmpImagesLogGroup", "Arn"]}]


def test_scheduled_job_never_overlaps_nor_retries_blindly() -> None:
    res = template()["Resources"]
    fn = res["PurgeTmpImagesFunction"]["Properties"]
    assert fn["ReservedConcurrentExecutions"] == 1
    assert fn["FunctionName"] == "acme-ops-purge-tmp-images"
    invoke = res["PurgeTmpImagesInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 0
    assert invoke["MaximumEventAgeInSeconds"] == 3600
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    rule = res["PurgeTmpImagesSchedule"]["Properties"]
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    permission = res["PurgeTmpImagesSchedulePermission"]["Properties"]
    assert permission["SourceArn"] == {"Fn::GetAtt": ["PurgeTmpImagesSchedule", "Arn"]}
    alarm = res["PurgeTmpImagesErrorsAlarm"]["Properties"]
    assert alarm["MetricName"] == "Errors" and alarm["Dimensions"][0]["Value"] == {
        "Ref": "PurgeTmpImagesFunction"
    }


def test_job_settings_reach_the_function_as_json() -> None:
    fn = template()["Resources"]["PurgeTmpImagesFunction"]["Properties"]
    job = json.loads(fn["Environment"]["Variables"]["OPS_JOB"])
    expected = {
        "bucket": "acme-media",
        "dry_run": False,
        "name": "tmp-images",
        "older_than": 3600,
        "prefix": "tmp/",
        "target": "s3",
    }
    assert {k: job[k] for k in expected} == expected
    assert not {"schedule", "timezone", "memory", "timeout", "runtime"} & set(job)


def test_code_key_is_the_content_hash_and_bucket_follows_convention() -> None:
    from ops.package import build_bundle

    code = template()["Resources"]["PurgeTmpImagesFunction"]["Properties"]["Code"]
    assert code["S3Key"] == build_bundle("purge").key
    assert code["S3Bucket"] == {"Fn::Sub": "ops-artifacts-${AWS::AccountId}-${AWS::Region}"}


def test_named_artifact_bucket_is_used(write_config) -> None:
    text = (
        (ROOT / "ops.toml")
        .read_text()
        .replace('name = "acme-ops"', 'name = "acme-ops"\nartifact_bucket = "acme-artifacts"')
    )
    code = template(write_config(text))["Resources"]["PurgeTmpImagesFunction"]["Properties"]["Code"]
    assert code["S3Bucket"] == "acme-artifacts"
