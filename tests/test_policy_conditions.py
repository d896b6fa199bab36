"""The condition keys moto's IAM skips: that moto does skip them, that tests/policy_conditions.py
evaluates them as IAM does, and that it covers every conditioned statement any example renders.

The e2e modules run each function under its role and then evaluate the deployed conditions
against the calls the run made (test_bundled_stack_e2e: the S3 purge's `s3:prefix`, the snapshot
purge's `aws:ResourceTag`; test_families_e2e: the versioned purge's; test_copier_e2e: the
copier's).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.config import load_config
from ops.models.deployer import replica_regions
from ops.render import render
from tests.policy_conditions import CONDITIONED, Call, denied, holds
from tests.test_render import EXAMPLES


def test_moto_simulates_no_policy_so_conditions_are_evaluated_by_the_tests() -> None:
    """When this fails, moto simulates policies: use iam:SimulatePrincipalPolicy instead."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        policy = json.dumps({"Version": "2012-10-17", "Statement": []})
        with pytest.raises(NotImplementedError):
            iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:ListBucket"])
        with pytest.raises(NotImplementedError):
            iam.simulate_principal_policy(
                PolicySourceArn="arn:aws:iam::123456789012:role/any", ActionNames=["s3:ListBucket"]
            )


LIST_TMP = {
    "Effect": "Allow",
    "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
    "Resource": ["arn:aws:s3:::b"],
    "Condition": {"StringLike": {"s3:prefix": ["tmp/*"]}},
}
DELETE_NIGHTLY = {
    "Effect": "Allow",
    "Action": ["ec2:DeleteSnapshot"],
    "Resource": ["arn:aws:ec2:eu-west-1::snapshot/*"],
    "Condition": {"StringEquals": {"aws:ResourceTag/backup": "nightly", "aws:ResourceTag/e": "s"}},
}


def policy(*statements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def test_string_like_allows_the_prefix_and_below_and_nothing_else() -> None:
    calls = [
        Call("s3:ListBucket", {}, {"s3:prefix": "tmp/"}),
        Call("s3:ListBucketVersions", {}, {"s3:prefix": "tmp/a/b"}),
        Call("s3:ListBucket", {}, {"s3:prefix": "tm"}),
        Call("s3:ListBucket", {}, {"s3:prefix": "other/tmp/"}),
        Call("s3:ListBucket", {}, {}),  # no Prefix: the key is missing, the condition fails
    ]
    assert denied(policy(LIST_TMP), calls) == [
        's3:ListBucket with {"s3:prefix": "tm"}',
        's3:ListBucket with {"s3:prefix": "other/tmp/"}',
        "s3:ListBucket with {}",
    ]


def test_string_like_wildcards_are_star_and_question_mark_only() -> None:
    like = {"StringLike": {"s3:prefix": "a.?/*"}}
    assert holds(like, {"s3:prefix": "a.b/c"})
    assert not holds(like, {"s3:prefix": "axb/c"})  # '.' is a plain character
    assert not holds(like, {"s3:prefix": "a.bc/"})  # '?' is exactly one


def test_every_key_of_a_block_must_hold_and_any_value_of_a_key_may() -> None:
    both = {"aws:ResourceTag/backup": "nightly", "aws:ResourceTag/e": "s"}
    assert denied(policy(DELETE_NIGHTLY), [Call("ec2:DeleteSnapshot", {}, both)]) == []
    one = {"aws:ResourceTag/backup": "nightly"}
    assert denied(policy(DELETE_NIGHTLY), [Call("ec2:DeleteSnapshot", {}, one)]) != []
    either = {"StringEquals": {"aws:ResourceTag/backup": ["nightly", "weekly"]}}
    assert holds(either, {"aws:ResourceTag/backup": "weekly"})
    assert not holds({"StringEquals": {"k": "Nightly"}}, {"k": "nightly"})  # case matters


def test_an_operator_it_does_not_know_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="ArnLike"):
        holds({"ArnLike": {"aws:SourceArn": "arn:*"}}, {"aws:SourceArn": "arn:x"})


def test_an_unconditioned_statement_grants_and_another_action_does_not() -> None:
    plain = {**LIST_TMP, "Condition": {}}
    assert denied(policy(plain), [Call("s3:ListBucket", {}, {})]) == []
    assert denied(policy(LIST_TMP), [Call("ec2:DeleteSnapshot", {}, {})]) != []


def conditioned_statements() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in EXAMPLES:
        config = load_config(path)
        for region in [None, *replica_regions(config)]:
            resources = json.loads(render(config, region=region))["Resources"]
            for logical, resource in resources.items():
                if resource["Type"] != "AWS::IAM::Role":
                    continue
                for document in resource["Properties"].get("Policies", []):
                    for statement in document["PolicyDocument"]["Statement"]:
                        if "Condition" in statement:
                            found.append((path.name, logical, statement))
    return found


def test_every_conditioned_statement_of_every_example_is_one_the_e2e_runs_evaluate() -> None:
    """A new conditioned statement fails here until tests/policy_conditions.py evaluates it
    (its calls in CONDITIONED, its keys in request_context) and an e2e run makes those calls."""
    found = conditioned_statements()
    assert {s["Sid"] for _, _, s in found} == {
        "ListUnderPrefix",  # the S3 purge (test_bundled_stack_e2e, test_families_e2e)
        "ListUploadVersions",  # the delayed replica's copier (test_copier_e2e)
        "DeleteTaggedSnapshots",  # the snapshot purge (test_bundled_stack_e2e)
    }
    evaluated = set(CONDITIONED.values())
    for name, logical, statement in found:
        assert set(statement["Action"]) <= evaluated, (name, logical, statement)
        for operator, keys in statement["Condition"].items():
            assert operator in ("StringEquals", "StringLike"), (name, logical, operator)
            for key in keys:
                assert key == "s3:prefix" or key.startswith("aws:ResourceTag/"), (name, key)
