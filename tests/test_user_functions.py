"""`[[function]]`: config errors naming the key (exit 2, nothing built), and what renders for
a user's function: role, log group, alias per stage, every trigger, the deployer's allow-list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ops.cli import cli
from ops.config import load_config
from ops.errors import ConfigError, OpsError
from ops.push import check_push, resolve_function
from ops.render import render

STACK = '[stack]\nname = "apps"\n'
DEPLOYER = """
[deployer]
region = "eu-west-1"
bucket = "apps-code"
stages = ["staging", "live"]
functions = ["legacy-*"]
writers = ["arn:aws:iam::123456789012:role/ci"]
"""
FUNCTION = """
[[function]]
name = "loader"
code = "src"
handler = "app.handler"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A folder with src/app.py; returns write(text) -> the config's path."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / "cache"))

    def write(text: str) -> Path:
        path = tmp_path / "ops.toml"
        path.write_text(STACK + text)
        return path

    return write


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def resources(path: Path) -> dict[str, Any]:
    return dict(json.loads(render(load_config(path)))["Resources"])


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        ('code = "missing"', "function[0].code", "no such folder"),
        ('handler = "nope.handler"', "function[0].handler", "no module nope.py"),
        ('handler = "app"', "function[0].handler", "expected module.function"),
        ('runtime = "nodejs20.x"', "function[0].runtime", "expected one of python3.11"),
        ('requirements = "requirements.txt"', "function[0].requirements", "no such file"),
        (
            'permissions = [{ actions = ["*"], resources = ["*"] }]',
            "function[0].permissions[0].actions",
            "grants every action",
        ),
        (
            'permissions = [{ actions = ["s3:GetObject", "s3:*"], resources = ["arn:aws:s3:::b"]}]',
            "function[0].permissions[0].actions",
            "'s3:*' grants every action",
        ),
        (
            'environment = { KEY_ID = "AKIAIOSFODNN7EXAMPLE" }',
            "function[0].environment",
            "holds an AWS access key id: put it in Secrets Manager",
        ),
        ('stages = ["live"]', "function[0].stages", "add a [deployer] table"),
        ('timezone = "Europe/Paris"', "function[0].timezone", "only a function with a `schedule`"),
        (
            'sqs = { queue_arn = "arn:aws:sqs:eu-west-1:123456789012:q", batch_size = 100 }',
            "function[0].sqs.max_batching_window",
            "needs max_batching_window",
        ),
        (
            'sqs = { queue_arn = "arn:aws:sqs:eu-west-1:123456789012:q.fifo", batch_size = 11, '
            "max_batching_window = 1 }",
            "function[0].sqs.batch_size",
            "a FIFO queue takes at most 10",
        ),
        ('sns = { topic_arn = "my-topic" }', "function[0].sns.topic_arn", "expected an SNS topic"),
        ('parameters = ["/a//b"]', "function[0].parameters", "expected SSM parameter names"),
    ],
)
def test_a_bad_function_names_the_key_and_what_was_expected(
    project, extra: str, key: str, expected: str
) -> None:
    text = FUNCTION.replace('handler = "app.handler"', "") if "handler" in extra else FUNCTION
    text = text.replace('code = "src"', "") if extra.startswith("code") else text
    found = problems(project(text + extra + "\n"))
    assert any(p.startswith(key + ":") and expected in p for p in found), found


def test_overlapping_notifications_on_an_owned_bucket_are_refused(project) -> None:
    second = FUNCTION.replace('"loader"', '"other"')
    path = project(
        FUNCTION
        + 's3 = { bucket = "apps-inbox", prefix = "in/", create = true }\n'
        + second
        + 's3 = { bucket = "apps-inbox", prefix = "in/users/", suffix = ".csv" }\n'
    )
    assert any(
        p.startswith("function[1].s3:") and "overlaps function[0].s3" in p for p in problems(path)
    )


def test_disjoint_notifications_share_the_owned_bucket(project) -> None:
    second = FUNCTION.replace('"loader"', '"other"')
    path = project(
        FUNCTION
        + 's3 = { bucket = "apps-inbox", prefix = "in/", suffix = ".csv", create = true }\n'
        + second
        + 's3 = { bucket = "apps-inbox", prefix = "in/", suffix = ".json" }\n'
    )
    bucket = resources(path)["BucketAppsInbox"]
    notifications = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert [n["Function"] for n in notifications] == [
        {"Fn::GetAtt": ["FnLoaderFunction", "Arn"]},
        {"Fn::GetAtt": ["FnOtherFunction", "Arn"]},
    ]
    assert bucket["DependsOn"] == ["FnLoaderUploadsPermission", "FnOtherUploadsPermission"]


def test_cli_exits_2_naming_the_key_and_builds_nothing(project, tmp_path) -> None:
    path = project(FUNCTION + 'permissions = [{ actions = ["iam:*"], resources = ["*"] }]\n')
    result = CliRunner().invoke(cli, ["render", "--config", str(path)])
    assert result.exit_code == 2
    assert "function[0].permissions[0].actions: 'iam:*' grants every action" in result.output
    assert not (tmp_path / "cache").exists()


def test_a_secret_looking_name_is_a_warning_from_validate(project) -> None:
    path = project(FUNCTION + 'environment = { API_TOKEN_URL = "https://auth.example.com" }\n')
    result = CliRunner().invoke(cli, ["validate", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "function[0].environment.API_TOKEN_URL: the name suggests a secret" in result.output


def test_the_function_gets_what_every_family_gets(project) -> None:
    path = project(FUNCTION + 'environment = { MODE = "full" }\nreserved_concurrency = 3\n')
    found = resources(path)
    function = found["FnLoaderFunction"]["Properties"]
    assert function["FunctionName"] == "apps-fn-loader"
    assert function["Handler"] == "app.handler"
    assert function["Architectures"] == ["arm64"]
    assert function["Environment"] == {"Variables": {"MODE": "full"}}  # no OPS_JOB
    assert function["ReservedConcurrentExecutions"] == 3
    assert function["Code"]["S3Key"].startswith("user/loader/")
    assert found["FnLoaderLogGroup"]["Properties"]["RetentionInDays"] == 30
    assert found["FnLoaderErrorsAlarm"]["Properties"]["MetricName"] == "Errors"
    invoke = found["FnLoaderInvokeConfig"]["Properties"]
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    sids = [s.get("Sid") for s in _statements(found, "FnLoaderRole")]
    assert sids == ["OwnLogGroup", "DeadLetters"]  # nothing it did not ask for


def _statements(found: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return list(found[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])


def test_the_role_reads_exactly_the_named_parameters_and_secrets(project) -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    path = project(
        FUNCTION
        + 'parameters = ["/users/table", "/users/limits/"]\n'
        + f'parameters_key = "{key}"\n'
        + 'secrets = ["users/webhook"]\n'
        + 'permissions = [{ actions = ["dynamodb:BatchWriteItem"], resources = '
        + '["arn:aws:dynamodb:eu-west-1:123456789012:table/users"] }]\n'
    )
    by_sid = {s["Sid"]: s for s in _statements(resources(path), "FnLoaderRole")}
    prefix = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/"
    assert by_sid["ReadParameters"]["Action"] == ["ssm:GetParameter", "ssm:GetParameters"]
    assert by_sid["ReadParameters"]["Resource"] == [{"Fn::Sub": prefix + "users/table"}]
    assert by_sid["ReadParameterPaths"]["Action"] == ["ssm:GetParametersByPath"]
    assert by_sid["ReadParameterPaths"]["Resource"] == [{"Fn::Sub": prefix + "users/limits"}]
    assert by_sid["DecryptParameters"]["Resource"] == [key]
    assert by_sid["DecryptParameters"]["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}}
    }
    assert by_sid["ReadSecrets"]["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
            "secret:users/webhook-??????"
        }
    ]
    assert by_sid["Permission0"]["Action"] == ["dynamodb:BatchWriteItem"]


def test_stages_are_aliases_and_every_trigger_invokes_the_last(project) -> None:
    path = project(
        DEPLOYER
        + FUNCTION
        + 'stages = ["staging", "live"]\n'
        + 'schedule = "cron(0 6 * * ? *)"\ntimezone = "Europe/Paris"\n'
        + 's3 = { bucket = "partner-drop", prefix = "users/", suffix = ".csv" }\n'
        + 'sqs = { queue_arn = "arn:aws:sqs:eu-west-1:123456789012:jobs", batch_size = 50, '
        + "max_batching_window = 2 }\n"
        + 'sns = { topic_arn = "arn:aws:sns:eu-west-1:123456789012:alerts" }\n'
    )
    found = resources(path)
    live = {"Ref": "FnLoaderLiveAlias"}
    for stage in ("Staging", "Live"):
        alias = found[f"FnLoader{stage}Alias"]["Properties"]
        assert alias["FunctionVersion"] == "$LATEST"  # the deployer moves it, never a render
        assert (
            found[f"FnLoader{stage}AliasInvokeConfig"]["Properties"]["Qualifier"] == alias["Name"]
        )
    schedule = found["FnLoaderSchedule"]
    assert schedule["Type"] == "AWS::Scheduler::Schedule"
    assert schedule["Properties"]["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["Properties"]["Target"]["Arn"] == live
    rule = found["FnLoaderUploads"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["partner-drop"]},
            "object": {"key": [{"wildcard": "users/*.csv"}]},
        },
    }
    assert rule["Targets"][0]["Arn"] == live
    assert found["FnLoaderUploadsPermission"]["Properties"]["FunctionName"] == live
    mapping = found["FnLoaderQueueMapping"]["Properties"]
    assert mapping["FunctionName"] == live
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (50, 2)
    subscription = found["FnLoaderTopicSubscription"]["Properties"]
    assert subscription == {
        "Endpoint": live,
        "Protocol": "lambda",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:alerts",
    }
    topic = found["FnLoaderTopicPermission"]["Properties"]
    assert (topic["Principal"], topic["SourceArn"]) == (
        "sns.amazonaws.com",
        subscription["TopicArn"],
    )
    by_sid = {s["Sid"]: s for s in _statements(found, "FnLoaderRole")}
    assert by_sid["ReadUploads"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::partner-drop/users/*.csv"}
    ]
    assert by_sid["PollQueue"]["Resource"] == ["arn:aws:sqs:eu-west-1:123456789012:jobs"]


def test_an_owned_bucket_notifies_after_its_permission_exists(project) -> None:
    path = project(FUNCTION + 's3 = { bucket = "apps-inbox", prefix = "in/", create = true }\n')
    found = resources(path)
    permission = found["FnLoaderUploadsPermission"]["Properties"]
    assert permission["SourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::apps-inbox"}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert found["BucketAppsInbox"]["DependsOn"] == ["FnLoaderUploadsPermission"]
    assert found["BucketAppsInboxPolicy"]["Properties"]["PolicyDocument"]["Statement"][0][
        "Condition"
    ] == {"Bool": {"aws:SecureTransport": "false"}}
    assert not any(r["Type"] == "AWS::Events::Rule" for r in found.values())


def test_the_deployer_accepts_staged_functions_without_listing_them(project) -> None:
    path = project(DEPLOYER + FUNCTION + 'stages = ["live"]\n')
    config = load_config(path)
    found = resources(path)
    job = json.loads(
        found["DeployerDeployerFunction"]["Properties"]["Environment"]["Variables"]["OPS_JOB"]
    )
    assert job["functions"] == ["legacy-*", "apps-fn-loader"]
    deploying = _statements(found, "DeployerDeployerRole")[2]
    lambda_arn = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
    assert {"Fn::Sub": lambda_arn + "apps-fn-loader:*"} in deploying["Resource"]
    name, built = resolve_function(config, "loader")
    assert name == "apps-fn-loader" and built is not None
    check_push(config, name, "live")
    with pytest.raises(OpsError, match="loader has no stage 'staging'"):
        check_push(config, name, "staging")


def test_the_render_is_deterministic_and_the_key_follows_the_code(project, tmp_path) -> None:
    path = project(FUNCTION)
    first = render(load_config(path))
    assert render(load_config(path)) == first
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 2\n")
    changed = render(load_config(path))
    key = json.loads(first)["Resources"]["FnLoaderFunction"]["Properties"]["Code"]["S3Key"]
    assert key not in changed
