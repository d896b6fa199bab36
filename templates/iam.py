"""IAM pieces every builder writes: partition-aware ARNs, identity-policy statements, trust
policies and the one inline `least-privilege` policy a role carries.

Nothing here knows a family; `templates.function` and `templates.triggers` build on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from awacs.aws import (
    Action,
    Allow,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from awacs.sts import AssumeRole
from troposphere import Ref, Sub, iam

POLICY_VERSION = "2012-10-17"


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Sub:
    """`arn(... )` -> Sub("arn:${AWS::Partition}:SERVICE:${AWS::Region}:${AWS::AccountId}:RES")."""
    where = "${AWS::Region}" if region else ""
    who = "${AWS::AccountId}" if account else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:{who}:{resource}")


def s3_arn(resource: str) -> Sub:
    """`arn:${AWS::Partition}:s3:::RESOURCE` (S3 ARNs carry neither region nor account)."""
    return arn("s3", resource, region=False, account=False)


def secret_arn(secret: str) -> Any:
    """A secret's ARN for a policy. Secrets Manager appends `-` and six random characters to
    every secret's name in its ARN: a name, or a partial ARN (one without them), gets `-??????`
    so it matches exactly that secret; a complete ARN is used as it is."""
    if not secret.startswith("arn:"):
        return arn("secretsmanager", f"secret:{secret}-??????")
    return secret if _COMPLETE_SECRET_ARN.search(secret) else f"{secret}-??????"


_COMPLETE_SECRET_ARN = re.compile(r":secret:.+-[A-Za-z0-9]{6}$")


def allow(
    sid: str | None,
    actions: Sequence[Action],
    resources: Sequence[Any],
    condition: Condition | None = None,
) -> Statement:
    """An identity-policy statement: allow `actions` on exactly `resources` (under `condition`).

    A `"*"` resource only where the API has no resource-level permissions, and the caller says
    which API in a comment.
    """
    named = {"Sid": sid} if sid else {}
    conditioned = {"Condition": condition} if condition is not None else {}
    return Statement(
        **named, Effect=Allow, Action=list(actions), Resource=list(resources), **conditioned
    )


def without_actions(statements: Sequence[Statement], verbs: Sequence[str]) -> list[Statement]:
    """`statements` with every action whose name starts with one of `verbs` (`Delete`,
    `Update`, ...) taken out, and a statement left with none dropped: a dry run's role."""
    kept = []
    for statement in statements:
        actions = [a for a in statement.Action if not a.action.startswith(tuple(verbs))]
        if actions:
            kept.append(Statement(**{**statement.properties, "Action": actions}))
    return kept


def kms_via(sid: str, key: str, service: str, actions: Sequence[Action]) -> Statement:
    """`actions` with a customer KMS key, only when `service` asks for them on our behalf
    (`kms:ViaService`): the role cannot use the key directly."""
    via = Condition(
        StringEquals("kms:ViaService", Sub(f"{service}.${{AWS::Region}}.amazonaws.com"))
    )
    return allow(sid, actions, [key], via)


def trust(service: str, source_account: bool = False) -> PolicyDocument:
    """Who may assume a role: one AWS service, from this account only when it says so."""
    condition = {}
    if source_account:
        condition["Condition"] = Condition(StringEquals("aws:SourceAccount", Ref("AWS::AccountId")))
    statement = Statement(
        Effect=Allow, Action=[AssumeRole], Principal=Principal("Service", [service]), **condition
    )
    return PolicyDocument(Version=POLICY_VERSION, Statement=[statement])


def inline_policy(*statements: Statement) -> iam.Policy:
    """A role's one inline policy, named `least-privilege`."""
    return iam.Policy(
        PolicyName="least-privilege",
        PolicyDocument=PolicyDocument(Version=POLICY_VERSION, Statement=list(statements)),
    )
