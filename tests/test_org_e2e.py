"""`ops apply/status/destroy --org` end to end (issue 12's check "render once, deploy to two
accounts on moto"): the real CLI against a moto server on 127.0.0.1, the bundled example with a
self-managed `[targets]` of two accounts x two regions.

What moto (5.2.5) models, and so what this checks: a self-managed stack set instance is a real
stack in the target account and region (with tests/moto_gaps.py naming it as AWS does), so its
functions exist there, with the code read from the administrator account's artifact bucket of
that region. Multi-account in moto: a request's account is `MOTO_ACCOUNT_ID` (unset here: it
would override every request), else an `x-moto-account-id` header, else the account whose IAM
holds the access key, else 123456789012; so the CLI's made-up key is the administrator account
123456789012, and a target account is reached with STS AssumeRole credentials, which moto files
under the role ARN's account. Gaps (docs/org.md):
moto's StackSets never assume the administration or execution role (the instances are made
directly in the target account's backend, so a missing role cannot fail an instance here:
tests/test_stackset.py has the Stubber test for a failed instance); every operation has
SUCCEEDED when its call returns; UpdateStackSet records the new template but does not update
the instances' stacks; ListStackInstances has no DriftStatus.
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

from ops.package import build_bundle
from tests.test_apply_e2e import ops  # the real CLI, --endpoint-url last

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "123456789012"
ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("eu-west-1", "us-east-1")
OPERATIONS = ("CreateStackSet", "UpdateStackSet", "CreateStackInstances", "DeleteStackInstances")
READS = ("Describe", "Get", "List", "Head")


def org_config(path: Path, older_than: str = "1h") -> Path:
    """The bundled ops.toml (tmp-images purged after `older_than`) with two accounts x two
    regions."""
    text = (
        (ROOT / "ops.toml").read_text().replace('older_than = "1h"', f'older_than = "{older_than}"')
    )
    accounts = ", ".join(f'"{a}"' for a in ACCOUNTS)
    regions = ", ".join(f'"{r}"' for r in REGIONS)
    path.write_text(f"{text}\n[targets]\naccounts = [{accounts}]\nregion_order = [{regions}]\n")
    return path


def in_account(endpoint: str, account: str, service: str, region: str) -> Any:
    """A client acting in `account`, by the execution role's STS credentials."""
    sts = boto3.client("sts", region_name=region, endpoint_url=endpoint)
    role = f"arn:aws:iam::{account}:role/AWSCloudFormationStackSetExecutionRole"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="ops-e2e")["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def operations(endpoint: str) -> list[str]:
    cfn = boto3.client("cloudformation", region_name="eu-west-1", endpoint_url=endpoint)
    found = cfn.list_stack_set_operations(StackSetName="acme-ops")["Summaries"]
    return [o["OperationId"] for o in found]


def test_render_once_deploy_to_two_accounts_and_two_regions_then_noop_update_status_destroy(
    moto_endpoint: str, tmp_path: Path, calls: Counter[str]
) -> None:
    path = str(org_config(tmp_path / "ops.toml"))
    planned = ops(moto_endpoint, "plan", "--org", "--config", path, "--json")
    assert planned.exit_code == 0, planned.stderr
    assert "Create stack set acme-ops; add the instances missing in 2 accounts" in planned.stderr
    steps = json.loads(planned.stdout)
    assert (steps["create"], steps["update"], steps["add_instances"]) == (True, False, True)
    assert not [op for op in calls if not op.startswith(READS)]  # a plan writes nothing
    first = ops(moto_endpoint, "apply", "--org", "--config", path, "--yes", "--json")
    assert first.exit_code == 0, first.stderr
    assert "eu-west-1: 2 succeeded, 0 running, 0 failed" in first.stderr
    assert "us-east-1: 2 succeeded, 0 running, 0 failed" in first.stderr
    assert "warning: [deployer] is not part of the stack set" in first.stderr
    report = json.loads(first.stdout)
    assert report["outcome"] == "created" and len(report["operations"]) == 1
    assert {op: calls[op] for op in OPERATIONS} == {
        "CreateStackSet": 1,
        "UpdateStackSet": 0,
        "CreateStackInstances": 1,
        "DeleteStackInstances": 0,
    }
    purge = build_bundle("purge")
    assert report["uploaded"] == {r: sorted(report["uploaded"][r]) for r in REGIONS}
    assert all(purge.key in report["uploaded"][r] for r in REGIONS)
    digest = base64.b64encode(hashlib.sha256(purge.zip_bytes()).digest()).decode()
    for account in ACCOUNTS:
        for region in REGIONS:
            stacks = in_account(moto_endpoint, account, "cloudformation", region).describe_stacks()
            [stack] = [
                s for s in stacks["Stacks"] if s["StackName"].startswith("StackSet-acme-ops-")
            ]
            assert stack["StackStatus"] == "CREATE_COMPLETE"
            assert stack["Parameters"] == [
                {"ParameterKey": "ArtifactAccount", "ParameterValue": ADMIN}
            ]
            lam = in_account(moto_endpoint, account, "lambda", region)
            fn = lam.get_function(FunctionName="acme-ops-purge-tmp-images")["Configuration"]
            assert fn["CodeSha256"] == digest  # read from ops-artifacts-ADMIN-<region>
            assert fn["FunctionArn"].split(":")[3:5] == [region, account]
            # The deployer stays out of the stack set.
            names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
            assert "acme-ops-deployer-deployer" not in names

    calls.clear()
    again = ops(moto_endpoint, "apply", "--org", "--config", path, "--yes")
    assert again.exit_code == 0, again.stderr
    assert "stack set acme-ops: no changes (no operation started)" in again.stderr
    assert not [op for op in calls if not op.startswith(READS)]  # no operation, no upload
    assert sorted(calls) == ["DescribeStackSet", "GetCallerIdentity", "ListStackInstances"]
    started = operations(moto_endpoint)
    assert len(started) == 1
    unchanged = ops(moto_endpoint, "plan", "--org", "--config", path)
    assert "stack set acme-ops: no changes (no operation would start)" in unchanged.stderr

    calls.clear()
    org_config(Path(path), older_than="2h")
    changed = ops(moto_endpoint, "apply", "--org", "--config", path, "--yes")
    assert changed.exit_code == 0, changed.stderr
    assert "stack set acme-ops: updated" in changed.stderr
    assert {op: calls[op] for op in OPERATIONS} == {
        "CreateStackSet": 0,
        "UpdateStackSet": 1,
        "CreateStackInstances": 0,
        "DeleteStackInstances": 0,
    }
    assert calls["PutObject"] == 0  # the code did not change: every key was there
    cfn = boto3.client("cloudformation", region_name="eu-west-1", endpoint_url=moto_endpoint)
    body = json.loads(cfn.describe_stack_set(StackSetName="acme-ops")["StackSet"]["TemplateBody"])
    job = body["Resources"]["PurgeTmpImagesFunction"]["Properties"]["Environment"]["Variables"]
    assert json.loads(job["OPS_JOB"])["older_than"] == 7200
    # moto records an UpdateStackSet with Accounts and Regions as two operations of its own.
    assert len(operations(moto_endpoint)) > len(started)

    status = ops(moto_endpoint, "status", "--org", "--config", path, "--json")
    assert status.exit_code == 0, status.stderr
    instances = [json.loads(line) for line in status.stdout.splitlines()]
    assert [(i["account"], i["region"]) for i in instances] == [
        (a, r) for a in ACCOUNTS for r in REGIONS
    ]
    assert {i["status"] for i in instances} == {"CURRENT"}
    assert {i["drift_status"] for i in instances} == {None}  # moto reports no DriftStatus
    text = ops(moto_endpoint, "status", "--org", "--config", path)
    assert "111111111111  us-east-1  CURRENT (SUCCEEDED)  drift not reported" in text.stdout

    gone = ops(moto_endpoint, "destroy", "--org", "--config", path, "--yes")
    assert gone.exit_code == 0, gone.stderr
    assert "stack set acme-ops: deleted" in gone.stderr
    assert f"Kept the artifact buckets ops-artifacts-{ADMIN}-eu-west-1" in gone.stderr
    for account in ACCOUNTS:
        for region in REGIONS:
            stacks = in_account(moto_endpoint, account, "cloudformation", region).list_stacks()
            live = [
                s
                for s in stacks["StackSummaries"]
                if s["StackName"].startswith("StackSet-acme-ops-")
                and s["StackStatus"] != "DELETE_COMPLETE"
            ]
            assert live == []
    missing = ops(moto_endpoint, "status", "--org", "--config", path)
    assert missing.exit_code == 1
    assert "stack set acme-ops does not exist in eu-west-1: run ops apply --org" in missing.stderr
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
    assert s3.head_object(Bucket=f"ops-artifacts-{ADMIN}-us-east-1", Key=purge.key)


def test_org_without_targets_is_a_config_error_before_any_call(
    moto_endpoint: str, tmp_path: Path, calls: Counter[str]
) -> None:
    path = tmp_path / "ops.toml"
    path.write_text((ROOT / "ops.toml").read_text())
    for command in ("apply", "status", "destroy"):
        extra = ["--yes"] if command != "status" else []
        result = ops(moto_endpoint, command, "--org", "--config", str(path), *extra)
        assert result.exit_code == 2, result.stderr
        assert f"{path}: targets: --org deploys a stack set" in result.stderr
    assert not calls


def test_org_takes_one_region_and_no_single_stack_options(
    moto_endpoint: str, tmp_path: Path
) -> None:
    path = str(org_config(tmp_path / "ops.toml"))
    two = ops(
        moto_endpoint,
        "apply",
        "--org",
        "--config",
        path,
        "--yes",
        "--region",
        "eu-west-1",
        "--region",
        "us-east-1",
    )
    assert two.exit_code == 2 and "pass one --region at most" in two.stderr
    rollback = ops(
        moto_endpoint, "apply", "--org", "--config", path, "--yes", "--continue-rollback"
    )
    assert rollback.exit_code == 2
    assert "--continue-rollback is for one account's stack" in rollback.stderr
