"""The shared pieces' public names, in one place for the family builders to import.

Each lives in its own module: `templates.iam` (ARNs, statements, trust and inline policies),
`templates.skips` (checkov answers), `templates.context` (`RenderContext`: config, code
locations, the dead-letter queue), `templates.function` (`add_function`: function, log group,
role, failure destination, Errors alarm), `templates.jobs` ($OPS_JOB from the model alone)
and `templates.triggers` (rules, schedules, invoke permissions). Nothing here talks to AWS.
"""

from __future__ import annotations

from templates.context import (
    ARTIFACT_ACCOUNT_PARAMETER,
    DEFAULT_ARTIFACT_BUCKET,
    STACK_SET_ARTIFACT_BUCKET,
    CodeLocation,
    RenderContext,
)
from templates.function import FunctionResources, FunctionSpec, add_alias, add_function
from templates.iam import (
    POLICY_VERSION,
    allow,
    arn,
    inline_policy,
    kms_via,
    s3_arn,
    secret_arn,
    trust,
    without_actions,
)
from templates.jobs import NOT_JOB_KEYS, job_settings
from templates.skips import (
    FUNCTION_SKIPS,
    LOG_GROUP_SKIP,
    SHORT_LIVED_TABLE_SKIPS,
    UNBOUNDED_SKIP,
    checkov_skips,
)
from templates.triggers import add_rule, add_schedule, allow_invoke

__all__ = [
    "ARTIFACT_ACCOUNT_PARAMETER",
    "DEFAULT_ARTIFACT_BUCKET",
    "FUNCTION_SKIPS",
    "LOG_GROUP_SKIP",
    "NOT_JOB_KEYS",
    "POLICY_VERSION",
    "SHORT_LIVED_TABLE_SKIPS",
    "STACK_SET_ARTIFACT_BUCKET",
    "UNBOUNDED_SKIP",
    "CodeLocation",
    "FunctionResources",
    "FunctionSpec",
    "RenderContext",
    "add_alias",
    "add_function",
    "add_rule",
    "add_schedule",
    "allow",
    "allow_invoke",
    "arn",
    "checkov_skips",
    "inline_policy",
    "job_settings",
    "kms_via",
    "s3_arn",
    "secret_arn",
    "trust",
    "without_actions",
]
