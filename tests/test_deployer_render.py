"""The deployer's stacks: primary and replica, lint clean, wired and scoped as documented."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.config import load_config
from ops.errors import ConfigError, OpsError
from ops.lint import lint_template
from ops.models.deployer import replica_regions
from ops.render import render
from tests.conftest import ROOT

CONFIG = ROOT / "ops.toml"
EXAMPLE = ROOT / "examples" / "deployer.toml"
SUB = "Fn::Sub"
LAMBDA = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"


def rendered(region: str | None = None, path=CONFIG) -> dict[str, Any]:
    return json.loads(render(load_config(path), region=region))


def statements(resources: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    [policy] = resources[role]["Properties"]["Policies"]
    return {s.get("Sid"): s for s in policy["PolicyDocument"]["Statement"]}


@pytest.mark.parametrize(
    ("path", "region"),
    [
        (CONFIG, None),
        (CONFIG, "ap-northeast-1"),
        (EXAMPLE, "us-east-1"),
        (EXAMPLE, "eu-west-1"),
        (EXAMPLE, "ap-southeast-2"),
    ],
)
def test_every_stack_is_cfn_lint_clean(path, region) -> None:
    body = render(load_config(path), region=region)
    assert lint_template(body, [region or "eu-west-1"]) == []


def test_the_notification_waits_for_its_permission_without_a_cycle() -> None:
    res = rendered()["Resources"]
    bucket = res["DeployBucket"]
    assert bucket["DependsOn"] == ["DeployerDeployerBucketPermission"]
    permission = res["DeployerDeployerBucketPermission"]["Properties"]
    assert permission["SourceArn"] == {SUB: "arn:${AWS::Partition}:s3:::acme-functions-eu-west-1"}
    assert permission["FunctionName"] == {"Ref": "DeployerDeployerAlias"}
    assert permission["Principal"] == "s3.amazonaws.com"
    [notification] = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Function"] == {"Ref": "DeployerDeployerAlias"}
    assert notification["Filter"]["S3Key"]["Rules"] == [
        {"Name": "prefix", "Value": "deploy/"},
        {"Name": "suffix", "Value": ".zip"},
    ]


def test_the_bucket_is_versioned_encrypted_private_and_tls_only() -> None:
    res = rendered()["Resources"]
    props = res["DeployBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    policy = {
        s["Sid"]: s for s in res["DeployBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    }
    assert policy["DenyInsecureTransport"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    writers = policy["UploadsOnlyByWriters"]
    assert (writers["Effect"], writers["Action"]) == ("Deny", ["s3:PutObject"])
    assert writers["Resource"] == [
        {SUB: "arn:${AWS::Partition}:s3:::acme-functions-eu-west-1/deploy/*"}
    ]
    assert writers["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/ci"]}
    }


def test_the_deployer_runs_alone_and_its_alias_has_retries_and_a_dead_letter_queue() -> None:
    res = rendered()["Resources"]
    fn = res["DeployerDeployerFunction"]["Properties"]
    assert fn["ReservedConcurrentExecutions"] == 1
    assert fn["Handler"] == "functions.deployer.handler.handler"
    job = json.loads(fn["Environment"]["Variables"]["OPS_JOB"])
    assert job["buckets"] == {
        "ap-northeast-1": "acme-functions-ap-northeast-1",
        "eu-west-1": "acme-functions-eu-west-1",
    }
    assert job["own_function"] == "acme-ops-deployer-deployer" and job["smoke_test"] is True
    invoke = res["DeployerDeployerAliasInvokeConfig"]
    assert invoke["DependsOn"] == ["DeployerDeployerAlias"]
    assert invoke["Properties"]["Qualifier"] == "prod"
    assert invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    assert res["DeployerDeployerErrorsAlarm"]["Properties"]["MetricName"] == "Errors"


def test_the_deployer_role_reaches_only_allow_listed_functions_and_uploads() -> None:
    res = rendered()["Resources"]
    by_sid = statements(res, "DeployerDeployerRole")
    deploy = by_sid["DeployAllowListedFunctions"]
    assert "lambda:UpdateFunctionConfiguration" not in deploy["Action"]
    names = ["api", "worker-*", "acme-ops-deployer-deployer"]
    assert deploy["Resource"] == [
        {SUB: f"{LAMBDA}:function:{n}{q}"} for n in names for q in ("", ":*")
    ]
    smoke = by_sid["SmokeTestNewVersions"]
    assert smoke["Action"] == ["lambda:InvokeFunction"]
    assert all(r[SUB].endswith(":*") and "deployer" not in r[SUB] for r in smoke["Resource"])
    assert by_sid["ReadUploads"]["Resource"] == [
        {SUB: "arn:${AWS::Partition}:s3:::acme-functions-eu-west-1/deploy/*"}
    ]
    assert by_sid["WriteReports"]["Resource"] == [
        {SUB: "arn:${AWS::Partition}:s3:::acme-functions-eu-west-1/deploy-reports/*"}
    ]


def test_replication_role_has_exactly_what_s3_needs() -> None:
    res = rendered()["Resources"]
    by_sid = statements(res, "DeployReplicationRole")
    trust = res["DeployReplicationRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"Service": ["s3.amazonaws.com"]}
    assert trust[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    source = "arn:${AWS::Partition}:s3:::acme-functions-eu-west-1"
    replica = "arn:${AWS::Partition}:s3:::acme-functions-ap-northeast-1"
    assert by_sid == {
        "SourceBucket": {
            "Sid": "SourceBucket",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": [{SUB: source}],
        },
        "SourceObjects": {
            "Sid": "SourceObjects",
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            "Resource": [{SUB: f"{source}/deploy/*"}],
        },
        "ReplicaObjects": {
            "Sid": "ReplicaObjects",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],  # no deletes replicate
            "Resource": [{SUB: f"{replica}/deploy/*"}],
        },
    }
    [rule] = res["DeployBucket"]["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Destination"]["Bucket"] == {SUB: replica}
    assert rule["Filter"] == {"Prefix": "deploy/"}


def test_the_replica_stack_has_its_own_bucket_and_deployer_and_nothing_else() -> None:
    res = rendered("ap-northeast-1")["Resources"]
    props = res["DeployBucket"]["Properties"]
    assert props["BucketName"] == "acme-functions-ap-northeast-1"
    assert "ReplicationConfiguration" not in props and "DeployReplicationRole" not in res
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert res["DeployBucket"]["DependsOn"] == ["DeployerDeployerBucketPermission"]
    assert not any(name.startswith(("Purge", "Responder", "Logs")) for name in res)
    read = statements(res, "DeployerDeployerRole")["ReadUploads"]["Resource"]
    assert read == [{SUB: "arn:${AWS::Partition}:s3:::acme-functions-ap-northeast-1/deploy/*"}]


def test_live_replication_skips_the_delayed_replica() -> None:
    res = rendered(path=EXAMPLE)["Resources"]
    rules = res["DeployBucket"]["Properties"]["ReplicationConfiguration"]["Rules"]
    assert [r["Id"] for r in rules] == ["deploy-to-eu-west-1"]
    replicating = statements(res, "DeployReplicationRole")["ReplicaObjects"]["Resource"]
    assert replicating == [{SUB: "arn:${AWS::Partition}:s3:::acme-code-eu-west-1/releases/*"}]
    assert not any("Copier" in name for name in res)


def test_no_live_replica_renders_no_replication(write_config) -> None:
    text = EXAMPLE.read_text().replace('"eu-west-1" = "acme-code-eu-west-1"\n', "")
    res = rendered(path=write_config(text))["Resources"]
    assert "ReplicationConfiguration" not in res["DeployBucket"]["Properties"]
    assert "DeployReplicationRole" not in res


def test_the_delayed_replica_pulls_with_a_scheduled_copier_of_least_privilege() -> None:
    res = rendered("ap-southeast-2", EXAMPLE)["Resources"]
    props = res["DeployerDeployerCopierFunction"]["Properties"]
    assert props["Handler"] == "functions.deployer.copier.handler"
    assert json.loads(props["Environment"]["Variables"]["OPS_JOB"]) == {
        "source_bucket": "acme-code-us-east-1",
        "source_region": "us-east-1",
        "bucket": "acme-code-ap-southeast-2",
        "prefix": "releases/",
        "delay": 3600,
    }
    assert props["ReservedConcurrentExecutions"] == 1
    schedule = res["DeployerDeployerCopierSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(10 minutes)"
    allowed = statements(res, "DeployerDeployerCopierRole")
    source = "arn:${AWS::Partition}:s3:::acme-code-us-east-1"
    assert allowed["ListUploadVersions"]["Action"] == ["s3:ListBucketVersions"]
    assert allowed["ListUploadVersions"]["Resource"] == [{SUB: source}]
    assert allowed["ListUploadVersions"]["Condition"] == {
        "StringEquals": {"s3:prefix": "releases/"}
    }
    assert allowed["ReadUploadVersions"]["Resource"] == [{SUB: f"{source}/releases/*"}]
    assert allowed["CopyUploads"]["Resource"] == [
        {SUB: "arn:${AWS::Partition}:s3:::acme-code-ap-southeast-2/releases/*"}
    ]
    assert "ReplicationConfiguration" not in res["DeployBucket"]["Properties"]
    policy = res["DeployBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    uploads = next(s for s in policy if s["Sid"] == "UploadsOnlyByWriters")
    writers = uploads["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert writers[-1] == {"Fn::GetAtt": ["DeployerDeployerCopierRole", "Arn"]}


def test_a_live_replica_region_has_no_copier() -> None:
    res = rendered("eu-west-1", EXAMPLE)["Resources"]
    assert not any("Copier" in name for name in res)


def test_a_region_without_a_deploy_bucket_is_an_error() -> None:
    with pytest.raises(OpsError, match="no stack for us-west-2: render with --region one of"):
        render(load_config(CONFIG), region="us-west-2")


def test_render_for_a_region_the_config_does_not_deploy_to_is_a_usage_error() -> None:
    from click.testing import CliRunner

    from ops.cli import cli

    result = CliRunner().invoke(cli, ["render", "--config", str(CONFIG), "--region", "us-west-2"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "Error: the deployer has no stack for us-west-2" in result.stderr


def test_apply_brings_the_replicas_up_first() -> None:
    assert replica_regions(load_config(CONFIG)) == ["ap-northeast-1"]
    assert replica_regions(load_config(EXAMPLE)) == ["ap-southeast-2", "eu-west-1"]


def test_the_alias_target_never_changes_between_renders(write_config) -> None:
    """CloudFormation owns configuration, the deployer owns versions: the template's alias
    always says $LATEST, so no `ops apply` calls UpdateAlias and moves a deployed alias back."""
    text = CONFIG.read_text()
    changed = text.replace("smoke_test = true", "smoke_test = true\nmemory = 1024\ntimeout = 120")
    before = rendered()["Resources"]
    after = rendered(path=write_config(changed))["Resources"]
    assert after["DeployerDeployerFunction"]["Properties"]["MemorySize"] == 1024
    assert after["DeployerDeployerAlias"] == before["DeployerDeployerAlias"]
    assert before["DeployerDeployerAlias"]["Properties"]["FunctionVersion"] == "$LATEST"
    assert "Description" not in before["DeployerDeployerAlias"]["Properties"]


def dr(keys: str) -> str:
    """A `replicas` line whose ap-northeast-1 replica is a table with `keys`."""
    return f'replicas = {{ "ap-northeast-1" = {{ bucket = "b-dr-1", {keys} }} }}'


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            'replicas = { "eu-west-1" = "other-bucket" }',
            "deployer.replicas: 'eu-west-1' is the primary",
        ),
        ('replicas = { "ap-northeast-1" = "acme-functions-eu-west-1" }', "its own bucket"),
        ('report_prefix = "deploy/reports/"', "deployer.report_prefix: must not overlap"),
        ('self_stage = "qa"', "deployer.self_stage: expected one of ['dev', 'prod']"),
        ('functions = ["*"]', "deployer.functions: expected function names or globs"),
        ('prefix = "deploy"', "deployer.prefix: expected a key prefix ending in '/'"),
        ('writers = ["ci"]', "deployer.writers: expected one or more IAM role or user ARNs"),
        (
            dr('mode = "delayed"'),
            "deployer.replicas.ap-northeast-1.delay: required when mode = 'delayed'",
        ),
        (
            dr('delay = "1h"'),
            "deployer.replicas.ap-northeast-1.delay: only mode = 'delayed' takes it",
        ),
        (
            dr('mode = "delayed", delay = "30s"'),
            "expected a delay from 1m to 7d",
        ),
        (
            dr('mode = "delayed", delay = "1h", every = "90s"'),
            "expected whole minutes from 1m to 1d",
        ),
        (
            dr('mode = "later", delay = "1h"'),
            "deployer.replicas.ap-northeast-1.mode: expected 'live' or 'delayed', got a string",
        ),
        (
            'replicas = { "ap-northeast-1" = { mode = "delayed", delay = "1h" } }',
            "deployer.replicas.ap-northeast-1.bucket: missing required key",
        ),
    ],
)
def test_config_mistakes_are_reported_by_key(write_config, change: str, message: str) -> None:
    key = change.split(" = ")[0]
    lines = [ln for ln in CONFIG.read_text().splitlines() if not ln.startswith(f"{key} = ")]
    text = "\n".join(lines).replace("[deployer]\n", f"[deployer]\n{change}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(text))
    assert message in caught.value.message
