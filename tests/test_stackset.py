"""`[targets]` and the stack set deploy (issue 12 §1): the config's bad input, the preferences
built from it, and create -> update -> no-op -> delete across two accounts and two regions on
moto (moto 5 models StackSets' calls and runs instances synchronously)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.config import parse_config
from ops.deploy.stackset import (
    Operation,
    StackSetRun,
    artifact_bucket_policy,
    deployment,
    operation_preferences,
    permissions,
)
from ops.errors import ConfigError
from ops.models.targets import Targets

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("eu-west-1", "us-east-1")
SELF_MANAGED = {"accounts": list(ACCOUNTS), "region_order": list(REGIONS)}


def load(targets: dict[str, Any]) -> Any:
    return parse_config({"stack": {"name": "acme-ops"}, "targets": targets}, Path("ops.toml"))


def problems(targets: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(targets)
    assert info.value.exit_code == 2
    return [f"{p.path}: {p.message}" for p in info.value.problems]


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (
            {"organizational_units": ["ou-ab12-cd34ef56", "OU-1"], "region_order": ["eu-west-1"]},
            "targets.organizational_units: expected an OU id",
        ),
        (
            {"accounts": ["12345"], "region_order": ["eu-west-1"]},
            "targets.accounts: expected 12-digit account ids",
        ),
        (
            {**SELF_MANAGED, "region_order": ["eu-west-1", "eu-west-1"]},
            "targets.region_order: expected each once, got 'eu-west-1'",
        ),
        (
            {**SELF_MANAGED, "failure_tolerance_percent": 101},
            "targets.failure_tolerance_percent: expected a value from 0 to 100",
        ),
        (
            {**SELF_MANAGED, "max_concurrent_percent": 0},
            "targets.max_concurrent_percent: expected a value from 1 to 100",
        ),
        ({"region_order": ["eu-west-1"]}, "targets: expected either organizational_units"),
        (
            {**SELF_MANAGED, "organizational_units": ["ou-ab12-cd34ef56"]},
            "targets: expected either organizational_units",
        ),
        ({**SELF_MANAGED, "auto_deployment": True}, "targets.auto_deployment: only with"),
        (
            {
                "organizational_units": ["ou-ab12-cd34ef56"],
                "region_order": ["eu-west-1"],
                "execution_role": "x",
            },
            "targets.execution_role: only for self-managed",
        ),
        ({**SELF_MANAGED, "region_concurrency": "random"}, "targets.region_concurrency: expected"),
        ({**SELF_MANAGED, "concurrency_mode": "fast"}, "targets.concurrency_mode: expected"),
    ],
)
def test_bad_targets_are_config_errors_naming_the_key(targets, expected) -> None:
    found = problems(targets)
    assert any(p.startswith(expected) for p in found), found


def test_strict_concurrency_mode_is_sent_as_stacksets_names_it() -> None:
    """STRICT lowers the concurrency to failure tolerance + 1 (with tolerance 0: one account at
    a time per region), which is why ops defaults to soft; a user who wants it says so."""
    targets = load({**SELF_MANAGED, "concurrency_mode": "strict"}).targets
    assert operation_preferences(targets)["ConcurrencyMode"] == "STRICT_FAILURE_TOLERANCE"
    assert load(SELF_MANAGED).targets.concurrency_mode == "soft"


def test_preferences_and_targets_come_from_the_config() -> None:
    targets = load(
        {
            **SELF_MANAGED,
            "max_concurrent_percent": 50,
            "failure_tolerance_percent": 10,
            "region_concurrency": "parallel",
            "execution_role": "OpsExec",
        }
    ).targets
    assert operation_preferences(targets) == {
        "RegionConcurrencyType": "PARALLEL",
        "RegionOrder": list(REGIONS),
        "MaxConcurrentPercentage": 50,
        "FailureTolerancePercentage": 10,
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
    }
    assert deployment(targets) == {"Accounts": list(ACCOUNTS), "Regions": list(REGIONS)}
    assert permissions(targets, "999999999999") == {
        "PermissionModel": "SELF_MANAGED",
        "AdministrationRoleARN": (
            "arn:aws:iam::999999999999:role/AWSCloudFormationStackSetAdministrationRole"
        ),
        "ExecutionRoleName": "OpsExec",
    }
    org = load(
        {
            "organizational_units": ["ou-ab12-cd34ef56"],
            "region_order": ["eu-west-1"],
            "auto_deployment": False,
        }
    ).targets
    assert deployment(org)["DeploymentTargets"] == {"OrganizationalUnitIds": ["ou-ab12-cd34ef56"]}
    assert permissions(org, "999999999999")["AutoDeployment"] == {
        "Enabled": False,
        "RetainStacksOnAccountRemoval": False,
    }


def test_artifact_bucket_policy_reads_only_for_the_targets() -> None:
    org = load({"organizational_units": ["ou-ab12-cd34ef56"], "region_order": ["eu-west-1"]})
    statement, tls = artifact_bucket_policy("b", org.targets, "o-abc123")["Statement"]
    assert statement["Action"] == "s3:GetObject" and statement["Resource"] == "arn:aws:s3:::b/*"
    assert statement["Effect"] == "Allow" and statement["Principal"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    assert tls == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    listed = load(SELF_MANAGED).targets
    statement, _tls = artifact_bucket_policy("b", listed, None, "aws-cn")["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws-cn:iam::{a}:root" for a in ACCOUNTS]}
    assert statement["Resource"] == "arn:aws-cn:s3:::b/*" and "Condition" not in statement


def template(description: str) -> str:
    """Pseudo-parameters only: the same body serves every account and region."""
    return json.dumps(
        {
            "Description": description,
            "Resources": {
                "Topic": {
                    "Type": "AWS::SNS::Topic",
                    "Properties": {
                        "TopicName": {"Fn::Sub": "ops-${AWS::AccountId}-${AWS::Region}"}
                    },
                }
            },
        }
    )


@mock_aws
def test_stack_set_create_update_noop_delete_across_two_accounts_and_regions() -> None:
    cfn = boto3.client("cloudformation", region_name="eu-west-1")
    said: list[str] = []
    targets: Targets = load(SELF_MANAGED).targets
    run = StackSetRun(
        cfn,
        "acme-ops",
        targets,
        "999999999999",
        Operation(cfn, "acme-ops", said.append, sleep=lambda _s: None),
    )
    assert run.apply(template("v1"), {}, ["CAPABILITY_IAM"]) == "created"
    instances = {
        (i["Account"], i["Region"])
        for i in cfn.list_stack_instances(StackSetName="acme-ops")["Summaries"]
    }
    assert instances == {(a, r) for a in ACCOUNTS for r in REGIONS}
    assert len(run.started) == 1
    assert run.apply(template("v2"), {}, ["CAPABILITY_IAM"]) == "updated"
    body = cfn.describe_stack_set(StackSetName="acme-ops")["StackSet"]["TemplateBody"]
    assert json.loads(body)["Description"] == "v2"
    assert len(run.started) == 2
    assert run.apply(template("v2"), {}, ["CAPABILITY_IAM"]) == "no changes"
    assert len(run.started) == 2  # the rerun started no operation
    assert "no operation started" in said[-1]
    # A new account and a new template at once: the update goes to the instances there are
    # (naming the new account would be StackInstanceNotFound), then the new account's are made.
    grown = load({**SELF_MANAGED, "accounts": [*ACCOUNTS, "333333333333"]}).targets
    run.targets = grown
    assert run.plan(template("v3"), {}).stale == frozenset()
    assert run.apply(template("v3"), {}, ["CAPABILITY_IAM"]) == "updated"
    assert len(run.started) == 4
    instances = {
        (i["Account"], i["Region"])
        for i in cfn.list_stack_instances(StackSetName="acme-ops")["Summaries"]
    }
    assert instances == {(a, r) for a in (*ACCOUNTS, "333333333333") for r in REGIONS}
    # Dropping it again: its instances are kept and planned as stale, no operation started.
    run.targets = targets
    stale = run.plan(template("v3"), {}).stale
    assert stale == {("333333333333", r) for r in REGIONS}
    assert run.apply(template("v3"), {}, ["CAPABILITY_IAM"]) == "no changes"
    # Destroy removes every instance the set has, even in a region the config dropped; the
    # config's region order comes first.
    asked: list[dict[str, Any]] = []
    cfn.meta.events.register(
        "provide-client-params.cloudformation.DeleteStackInstances",
        lambda params, **_: asked.append(dict(params)),
    )
    run.targets = load({**SELF_MANAGED, "region_order": ["us-east-1"]}).targets
    assert run.destroy() == "deleted"
    [params] = asked
    assert params["Accounts"] == [*ACCOUNTS, "333333333333"]
    assert params["Regions"] == ["eu-west-1", "us-east-1"]
    assert params["OperationPreferences"]["RegionOrder"] == ["us-east-1", "eu-west-1"]
    assert run.destroy() == "nothing to delete"
    assert any("eu-west-1: " in line and "succeeded" in line for line in said)


def test_stubber_a_failed_instance_is_reported_with_account_region_and_reason() -> None:
    """botocore Stubber: moto's StackSets runs every instance to SUCCEEDED, so a failed instance
    and its StatusReason (the root cause) are given as AWS answers them."""
    from botocore.stub import Stubber

    cfn = boto3.client("cloudformation", region_name="eu-west-1")
    stub = Stubber(cfn)
    ids = {"StackSetName": "acme-ops", "OperationId": "op-1"}
    results = {
        "Summaries": [
            {"Account": ACCOUNTS[0], "Region": "eu-west-1", "Status": "SUCCEEDED"},
            {
                "Account": ACCOUNTS[1],
                "Region": "us-east-1",
                "Status": "FAILED",
                "StatusReason": "Account 222222222222 should have 'AWSCloudFormationStackSet"
                "ExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSet"
                "AdministrationRole'.",
            },
        ]
    }
    operation = {"StackSetOperation": {"OperationId": "op-1", "Status": "FAILED"}}
    stub.add_response("describe_stack_set_operation", operation, ids)
    stub.add_response("list_stack_set_operation_results", results, ids)  # progress line
    stub.add_response("list_stack_set_operation_results", results, ids)  # failures
    said: list[str] = []
    with stub:
        status, failures = Operation(cfn, "acme-ops", said.append).wait("op-1")
    assert status == "FAILED"
    assert failures == [
        f"{ACCOUNTS[1]} us-east-1: FAILED: Account 222222222222 should have "
        "'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role "
        "'AWSCloudFormationStackSetAdministrationRole'."
    ]
    assert said == [
        "stack set acme-ops FAILED (eu-west-1: 1 succeeded, 0 running, 0 failed; "
        "us-east-1: 0 succeeded, 0 running, 1 failed)"
    ]
