"""One template for every stack instance (issue 12 §1): the stack set render of the bundled
example names no account and no region, reads code from the administrator account's bucket of
the instance's region; those buckets (one per region of `region_order`) let the targets read
code and nothing more, and hold every zip before an operation starts (uploads skip keys already
there)."""

from __future__ import annotations

import io
import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.config import parse_config
from ops.deploy.org import StackSetArtifacts, StackSetRequest, literals, organization_id
from ops.deploy.summary import Console
from ops.errors import ConfigError
from ops.lint import lint_template
from ops.render import render
from tests import moto_gaps

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "123456789012"  # moto's default account: the administrator account here
ACCOUNTS = ["111111111111", "222222222222"]
REGIONS = ["eu-west-1", "us-east-1"]
SELF_MANAGED = {"accounts": ACCOUNTS, "region_order": REGIONS}


@pytest.fixture(autouse=True, scope="module")
def _moto_reads_bucket_policies_as_aws() -> None:
    moto_gaps.apply()  # moto takes every conditioned bucket policy statement as a deny


def bundled(targets: dict[str, Any] | None = SELF_MANAGED, **stack: Any) -> Any:
    data = tomllib.loads((ROOT / "ops.toml").read_text())
    data["stack"].update(stack)
    if targets is not None:
        data["targets"] = targets
    return parse_config(data, ROOT / "ops.toml")


def test_the_stack_set_render_names_no_account_and_no_region() -> None:
    request = StackSetRequest.from_config(bundled())
    assert request.literals() == []
    # The check can fail: the single-account render of the same config has the deployer's
    # buckets, regions and writer account written in.
    single = json.loads(render(bundled()))
    found = {value for _path, value in literals(single)}
    assert {"123456789012", "eu-west-1", "ap-northeast-1"} <= found


def test_every_function_reads_code_from_its_regions_bucket_of_the_admin_account() -> None:
    request = StackSetRequest.from_config(bundled())
    resources = request.template["Resources"]
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions
    for function in functions:
        assert function["Properties"]["Code"]["S3Bucket"] == {
            "Fn::Sub": "ops-artifacts-${ArtifactAccount}-${AWS::Region}"
        }
    assert request.template["Parameters"]["ArtifactAccount"]["AllowedPattern"] == "^[0-9]{12}$"
    assert request.parameters(ADMIN) == {"ArtifactAccount": ADMIN}
    # The deployer (global bucket names, per-region stacks) stays a single-account stack.
    assert request.left_out == ("deployer",)
    assert not [k for k in resources if k.startswith("Deploy")]
    assert request.inline and request.capabilities == ["CAPABILITY_IAM"]


def test_the_stack_set_render_is_cfn_lint_clean_in_every_region() -> None:
    assert lint_template(StackSetRequest.from_config(bundled()).body, REGIONS) == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (lambda: bundled(None), "ops.toml: targets: --org deploys a stack set to the accounts"),
        (
            lambda: bundled(artifact_bucket="acme-code"),
            "ops.toml: stack.artifact_bucket: a stack set reads code from one bucket per region",
        ),
    ],
)
def test_org_without_targets_or_with_one_fixed_bucket_is_a_config_error(config, expected) -> None:
    with pytest.raises(ConfigError) as info:
        StackSetRequest.from_config(config())
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"{ROOT}/{expected}")


def counted_s3(calls: Counter[str]) -> Any:
    clients: dict[str, Any] = {}

    def s3(region: str) -> Any:
        if region not in clients:
            clients[region] = boto3.client("s3", region_name=region)
            clients[region].meta.events.register(
                "before-call", lambda model, **_: calls.update([model.name])
            )
        return clients[region]

    return s3


@mock_aws
def test_buckets_policies_and_uploads_in_every_region_then_a_rerun_writes_nothing() -> None:
    request = StackSetRequest.from_config(bundled())
    calls: Counter[str] = Counter()
    out = io.StringIO()
    artifacts = StackSetArtifacts(counted_s3(calls), ADMIN, request.targets, Console(out))
    uploaded = artifacts.prepare(request.code_keys)
    assert uploaded == {region: request.code_keys for region in REGIONS}
    for region in REGIONS:
        s3 = boto3.client("s3", region_name=region)
        name = f"ops-artifacts-{ADMIN}-{region}"
        where = s3.get_bucket_location(Bucket=name)["LocationConstraint"]
        assert (where or "us-east-1") == region
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        read, tls = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
        assert read["Principal"] == {"AWS": [f"arn:aws:iam::{a}:root" for a in ACCOUNTS]}
        assert read["Action"] == "s3:GetObject" and read["Resource"] == f"arn:aws:s3:::{name}/*"
        assert tls["Effect"] == "Deny" and tls["Sid"] == "DenyInsecureTransport"
        listed = s3.list_objects_v2(Bucket=name)["Contents"]
        assert sorted(o["Key"] for o in listed) == request.code_keys
    assert calls["PutObject"] == 2 * len(request.code_keys)
    assert calls["PutBucketPolicy"] == 2

    calls.clear()
    assert artifacts.prepare(request.code_keys) == {region: [] for region in REGIONS}
    writes = sorted(op for op in calls if not op.startswith(("Head", "Get")))
    assert writes == []  # no bucket, no policy, no object written again
    assert calls["HeadObject"] == 2 * len(request.code_keys)


@mock_aws
def test_service_managed_buckets_let_the_organization_read_by_its_id() -> None:
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    targets = {"organizational_units": ["ou-ab12-cd34ef56"], "region_order": ["eu-west-1"]}
    request = StackSetRequest.from_config(bundled(targets))
    org_id = organization_id(org)
    assert org_id.startswith("o-")
    artifacts = StackSetArtifacts(
        counted_s3(Counter()), ADMIN, request.targets, Console(io.StringIO()), org_id=org_id
    )
    artifacts.prepare(request.code_keys)
    s3 = boto3.client("s3", region_name="eu-west-1")
    policy = s3.get_bucket_policy(Bucket=f"ops-artifacts-{ADMIN}-eu-west-1")["Policy"]
    read, _tls = json.loads(policy)["Statement"]
    assert read["Principal"] == "*"
    assert read["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": org_id}}


@mock_aws
def test_a_template_over_the_inline_limit_goes_by_url_from_the_admin_regions_bucket() -> None:
    request = StackSetRequest.from_config(bundled())
    artifacts = StackSetArtifacts(
        counted_s3(Counter()), ADMIN, request.targets, Console(io.StringIO())
    )
    body = json.dumps({"Description": "x" * 60_000, "Resources": {}})
    url = artifacts.template_url(body, "eu-central-1", None)
    bucket = f"ops-artifacts-{ADMIN}-eu-central-1"
    assert url.startswith(f"https://{bucket}.s3.eu-central-1.amazonaws.com/templates/")
    key = url.split(".amazonaws.com/", 1)[1]
    s3 = boto3.client("s3", region_name="eu-central-1")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() == body
