"""What moto's IAM does not evaluate, evaluated here: the condition keys of a deployed role,
against the requests an enforced run really made.

moto (5.2) checks an identity policy's actions, and resources for S3 only (tests/moto_gaps.py),
never its conditions: `IAMPolicyStatement._check_conditions` gets request values only for trust
policies (AssumeRole), so every condition of an identity statement passes, and it knows one
operator (StringEquals). Nor does moto simulate policies: `iam:SimulatePrincipalPolicy` and
`iam:SimulateCustomPolicy` raise NotImplementedError (tests/test_policy_conditions.py fails when
that changes). So `recording()` notes each call a run makes with the condition keys AWS puts in
its request context for the calls our roles condition (`CONDITIONED`), and `denied()` evaluates
the role's statements for them with IAM's rules for the operators they use: StringEquals and
StringLike, every key of a block must hold and any one value of a key may; a key missing from
the request fails (no `...IfExists`). Another operator is an error here, never a pass.

The statements so covered (every conditioned statement in a rendered example):
- S3 purge `ListUnderPrefix`: s3:ListBucket / s3:ListBucketVersions if `s3:prefix` is like
  `PREFIX*`;
- delayed replica copier `ListUploadVersions`: s3:ListBucketVersions if `s3:prefix` equals the
  deployer's prefix;
- EBS snapshot purge `DeleteTaggedSnapshots`: ec2:DeleteSnapshot if `aws:ResourceTag/K` equals V
  for every selection tag.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# (service, operation) -> the IAM action it is authorized as, for calls our roles condition.
CONDITIONED = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("ec2", "DeleteSnapshot"): "ec2:DeleteSnapshot",
}


@dataclass(frozen=True)
class Call:
    action: str
    params: dict[str, Any]
    context: dict[str, str] = field(default_factory=dict)  # condition key -> request value


def request_context(service: str, operation: str, params: dict[str, Any], region: str) -> dict:
    """The condition keys AWS evaluates for this request (those our statements use)."""
    if service == "s3":
        return {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
    if (service, operation) == ("ec2", "DeleteSnapshot"):
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[DEFAULT_ACCOUNT_ID][region]
        tags = backend.describe_tags(filters={"resource-id": [params["SnapshotId"]]})
        return {f"aws:ResourceTag/{t['key']}": t["value"] for t in tags}
    return {}


@contextmanager
def recording() -> Iterator[list[Call]]:
    """Every conditioned call made by any botocore client in this process meanwhile, its
    context read before the call goes out (a deleted snapshot has no tags left to read)."""
    from botocore.client import BaseClient

    calls: list[Call] = []
    original = BaseClient._make_api_call

    def record(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        action = CONDITIONED.get((service, operation))
        if action:
            context = request_context(service, operation, params, self.meta.region_name)
            calls.append(Call(action, dict(params), context))
        return original(self, operation, params)

    BaseClient._make_api_call = record  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def _like(pattern: str, value: str) -> bool:
    """IAM's StringLike: `*` any run of characters, `?` one; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.S) is not None


OPERATORS = {"StringEquals": str.__eq__, "StringLike": _like}


def holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """A statement's Condition against a request context, as IAM evaluates these operators."""
    for operator, keys in condition.items():
        if operator not in OPERATORS:
            raise ValueError(f"{operator} is not evaluated here: add it before relying on it")
        test = OPERATORS[operator]
        for key, expected in keys.items():
            values = expected if isinstance(expected, list) else [expected]
            if key not in context or not any(test(v, context[key]) for v in values):
                return False
    return True


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def denied(policies: list[dict[str, Any]], calls: list[Call]) -> list[str]:
    """The calls no Allow statement of `policies` grants, its condition evaluated (resources are
    not: moto checks S3's, the render tests the rest)."""
    statements = [s for p in policies for s in p["Statement"] if s["Effect"] == "Allow"]
    found = []
    for call in calls:
        granting = [
            s
            for s in statements
            if any(fnmatch.fnmatchcase(call.action, a) for a in _actions(s))
            and holds(s.get("Condition", {}), call.context)
        ]
        if not granting:
            found.append(f"{call.action} with {json.dumps(call.context, sort_keys=True)}")
    return found


def role_policies(iam: Any, role: str) -> list[dict[str, Any]]:
    """The role's inline policy documents, as IAM holds them."""
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return [iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names]
