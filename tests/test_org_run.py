"""`OrgDeploy` (what `--org` runs) on moto in-process: a service-managed stack set over an OU
(moto makes a hidden stack for each account of it), with the artifact bucket's read granted to
the organization by its id; a declined question
changes nothing; an operation that fails or outlasts the timeout is exit 1 or 3."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ops.config import parse_config
from ops.deploy.org_run import OrgDeploy
from ops.deploy.stackset import StackSetRun
from ops.deploy.summary import Console
from ops.errors import OpsError, TimedOut
from tests import moto_gaps

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "123456789012"


@pytest.fixture(autouse=True, scope="module")
def _moto_reads_bucket_policies_as_aws() -> None:
    moto_gaps.apply()


def config(targets: dict[str, Any]) -> Any:
    data = tomllib.loads((ROOT / "ops.toml").read_text())
    data["targets"] = targets
    return parse_config(data, ROOT / "ops.toml")


def requests_of(operation: str) -> list[dict[str, Any]]:
    """The parameters of every CloudFormation `operation` call from clients made after this
    (on a fresh default session, which the test's clients come from)."""
    sent: list[dict[str, Any]] = []
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        f"provide-client-params.cloudformation.{operation}",
        lambda params, **_: sent.append(dict(params)),
    )
    return sent


def deploy(targets: dict[str, Any], **kwargs: Any) -> tuple[OrgDeploy, io.StringIO]:
    out = io.StringIO()
    made = OrgDeploy(
        config(targets),
        "eu-west-1",
        lambda service, region: boto3.client(service, region_name=region),
        Console(out),
        sleep=lambda _s: None,
        **kwargs,
    )
    return made, out


@mock_aws
def test_service_managed_stack_set_over_an_ou_reads_code_granted_to_the_organization() -> None:
    org = boto3.client("organizations", region_name="us-east-1")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]
    made = org.create_account(AccountName="w1", Email="w1@example.com")["CreateAccountStatus"]
    org.move_account(AccountId=made["AccountId"], SourceParentId=root, DestinationParentId=ou["Id"])
    targets = {"organizational_units": [ou["Id"]], "region_order": ["eu-west-1"]}
    run, out = deploy(targets)
    assert run.apply() == "created"
    cfn = boto3.client("cloudformation", region_name="eu-west-1")
    found = cfn.describe_stack_set(StackSetName="acme-ops")["StackSet"]
    assert found["PermissionModel"] == "SERVICE_MANAGED"
    [instance] = cfn.list_stack_instances(StackSetName="acme-ops")["Summaries"]
    assert (instance["Account"], instance["Region"]) == (made["AccountId"], "eu-west-1")
    s3 = boto3.client("s3", region_name="eu-west-1")
    policy = json.loads(s3.get_bucket_policy(Bucket=f"ops-artifacts-{ADMIN}-eu-west-1")["Policy"])
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": org_id}}
    assert run.apply() == "no changes"
    assert "no operation started" in out.getvalue()
    # Gap: moto's DeleteStackInstances reads only Accounts, which a service-managed stack set
    # may not name (AWS takes DeploymentTargets), so it removes nothing and moto then refuses
    # DeleteStackSet; what ops asks is the OU's instances in the regions they are in.
    asked = requests_of("DeleteStackInstances")
    with pytest.raises(ClientError, match="StackSetNotEmptyException"):
        run.destroy()
    [params] = asked
    assert params["DeploymentTargets"] == {"OrganizationalUnitIds": [ou["Id"]]}
    assert params["Regions"] == ["eu-west-1"] and "Accounts" not in params


@mock_aws
def test_a_declined_question_creates_nothing() -> None:
    run, _out = deploy(
        {"accounts": ["111111111111"], "region_order": ["eu-west-1"]}, confirm=lambda _q: False
    )
    with pytest.raises(OpsError, match="not applied \\(declined\\)"):
        run.apply()
    assert boto3.client("s3", region_name="eu-west-1").list_buckets()["Buckets"] == []
    assert (
        boto3.client("cloudformation", region_name="eu-west-1").list_stack_sets()["Summaries"] == []
    )


@pytest.mark.parametrize(
    ("outcome", "error", "code", "text"),
    [
        ("FAILED", OpsError, 1, "operation op-1 FAILED (each failed instance's reason is above)"),
        ("STOPPED", OpsError, 1, "operation op-1 STOPPED"),
        ("TIMED_OUT", TimedOut, 3, "still running after 60 s (operation op-1)"),
    ],
)
def test_an_operation_that_did_not_succeed_is_an_error_with_its_exit_code(
    outcome, error, code, text
) -> None:
    run, _out = deploy({"accounts": ["111111111111"], "region_order": ["eu-west-1"]}, timeout=60)
    stack_set = StackSetRun(None, "acme-ops", run.config.targets, ADMIN, None)  # type: ignore[arg-type]
    stack_set.started.append("op-1")
    with pytest.raises(error) as info:
        run._finish(stack_set, outcome)
    assert info.value.exit_code == code and text in info.value.message


@mock_aws
def test_a_template_over_the_inline_limit_goes_by_template_url_and_reruns_as_a_no_op() -> None:
    jobs = [
        {
            "name": f"job-{i}",
            "target": "s3",
            "schedule": "rate(1 hour)",
            "bucket": f"acme-{i}",
            "prefix": "tmp/",
            "older_than": "1h",
        }
        for i in range(15)
    ]
    data = {
        "stack": {"name": "big"},
        "purge": jobs,
        "targets": {"accounts": ["111111111111"], "region_order": ["eu-west-1"]},
    }
    made = parse_config(data, ROOT / "ops.toml")
    sent = requests_of("CreateStackSet")
    run = OrgDeploy(
        made,
        "eu-west-1",
        lambda service, region: boto3.client(service, region_name=region),
        Console(io.StringIO()),
        sleep=lambda _s: None,
    )
    assert run.apply() == "created"
    [params] = sent
    assert "TemplateBody" not in params
    bucket = f"ops-artifacts-{ADMIN}-eu-west-1"
    assert params["TemplateURL"].startswith(f"https://{bucket}.s3.eu-west-1.amazonaws.com/")
    assert run.apply() == "no changes"  # compared with the body StackSets read from the URL
