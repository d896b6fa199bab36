"""`[[function]]`: a user's own function with what every family gets (log group, role,
dead-letter queue, Errors alarm), its stage aliases, the read access its `parameters` and
`secrets` need and nothing more, its extra `permissions`, and its triggers
(`templates.user_triggers`).

The code is the function's own build (`ops.build`), found in `ctx.code` under `code_bundle(fn)`.
No value of a parameter or secret is ever in the template: only their names, in the role.
"""

from __future__ import annotations

from dataclasses import replace

import awacs.kms
import awacs.secretsmanager
import awacs.ssm
from awacs.aws import Action, Statement
from troposphere import Ref

from ops.models.user_function import FAMILY, UserFunction
from ops.naming import logical_id
from templates.common import (
    FUNCTION_SKIPS,
    FunctionResources,
    FunctionSpec,
    RenderContext,
    add_alias,
    add_function,
    allow,
    arn,
    kms_via,
    secret_arn,
)
from templates.user_triggers import add_triggers, trigger_statements

SKIPS = (
    *FUNCTION_SKIPS[:2],
    (
        "CKV_AWS_173",
        "the environment holds only plain settings (ops refuses credential-looking values); "
        "parameters and secrets are read at run time through the role, never put here",
    ),
)


def code_bundle(fn: UserFunction) -> str:
    """The key of the function's build in `RenderContext.code`."""
    return f"{FAMILY}/{fn.name}"


def add_user_function(ctx: RenderContext, fn: UserFunction) -> FunctionResources:
    """The function, its stage aliases (triggers invoke the last) and its triggers."""
    resources = add_function(
        ctx,
        FunctionSpec(
            family=FAMILY,
            name=fn.name,
            settings=fn,
            handler=fn.handler,
            bundle=code_bundle(fn),
            statements=user_statements(fn),
            job=None,
            description=fn.description or f"{fn.name} (an ops [[function]])",
            environment=fn.environment,
            reserved_concurrency=fn.reserved_concurrency,
            retries=fn.retries,
            architecture=fn.architecture,
            skips=SKIPS,
        ),
    )
    aliases = [
        add_alias(ctx, resources, stage, logical_id(FAMILY, fn.name, stage, "Alias"))
        for stage in fn.stages
    ]
    if aliases:
        resources = replace(resources, target=Ref(aliases[-1]))
    add_triggers(ctx, resources, fn)
    return resources


def user_statements(fn: UserFunction) -> list[Statement]:
    """Read exactly the named parameters and secrets; the triggers' reads; `permissions`."""
    statements = [*_parameter_statements(fn), *_secret_statements(fn), *trigger_statements(fn)]
    for index, permission in enumerate(fn.permissions):
        statements.append(
            allow(
                f"Permission{index}",
                [Action(*action.split(":", 1)) for action in permission.actions],
                list(permission.resources),
            )
        )
    return statements


def _parameter_statements(fn: UserFunction) -> list[Statement]:
    names = [p for p in fn.parameters if not p.endswith("/")]
    paths = [p.rstrip("/") for p in fn.parameters if p.endswith("/")]
    statements = []
    if names:
        resources = [_parameter_arn(n) for n in names]
        actions = [awacs.ssm.GetParameter, awacs.ssm.GetParameters]
        statements.append(allow("ReadParameters", actions, resources))
    if paths:
        # GetParametersByPath is authorized against the path asked for, not what it returns.
        resources = [_parameter_arn(p) for p in paths]
        statements.append(allow("ReadParameterPaths", [awacs.ssm.GetParametersByPath], resources))
    if fn.parameters and fn.parameters_key:
        statements.append(
            kms_via("DecryptParameters", fn.parameters_key, "ssm", [awacs.kms.Decrypt])
        )
    return statements


def _secret_statements(fn: UserFunction) -> list[Statement]:
    if not fn.secrets:
        return []
    read = [awacs.secretsmanager.GetSecretValue, awacs.secretsmanager.DescribeSecret]
    statements = [allow("ReadSecrets", read, [secret_arn(s) for s in fn.secrets])]
    if fn.secrets_key:
        statements.append(
            kms_via("DecryptSecrets", fn.secrets_key, "secretsmanager", [awacs.kms.Decrypt])
        )
    return statements


def _parameter_arn(name: str) -> object:
    return arn("ssm", f"parameter/{name.lstrip('/')}")
