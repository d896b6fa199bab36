"""checkov findings answered in a resource's `Metadata`, each with the reason it does not apply.

`tests/test_scanners.py` fails on a new finding and on a skip without a reason; the reasons that
every function, log group and short-lived table share live here once.
"""

from __future__ import annotations

from typing import Any


def checkov_skips(*skips: tuple[str, str]) -> dict[str, Any]:
    """A resource's `Metadata` that tells checkov which findings are answered, each with why."""
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in skips]}}


# Why every function and log group answers the same checkov findings (see docs/architecture.md).
FUNCTION_SKIPS = (
    (
        "CKV_AWS_116",
        "failed async invocations go to the stack's dead-letter queue through the function's "
        "EventInvokeConfig OnFailure destination, which checkov does not read",
    ),
    (
        "CKV_AWS_117",
        "calls only AWS APIs and reaches no private network; a VPC would add NAT or endpoints "
        "and cold-start time for nothing",
    ),
    (
        "CKV_AWS_173",
        "the environment holds only non-secret job settings (OPS_JOB); secrets are read from "
        "Secrets Manager at run time, and Lambda encrypts the environment at rest",
    ),
)
UNBOUNDED_SKIP = (
    "CKV_AWS_115",
    "event-driven with at-least-once input and idempotent work; a reservation would only take "
    "concurrency from the account's pool (jobs that must not overlap reserve 1)",
)
LOG_GROUP_SKIP = (
    "CKV_AWS_158",
    "CloudWatch Logs encrypts every log group at rest; these hold run reports and metrics, "
    "never secrets",
)

# The marker and rate-limit tables: state that expires by TTL within hours.
SHORT_LIVED_TABLE_SKIPS = (
    ("CKV_AWS_119", "encrypted at rest (SSE); it holds only short-lived state, no user data"),
    (
        "CKV_AWS_28",
        "its items expire by TTL within hours; a point-in-time restore would bring back stale "
        "claims, which is worse than none",
    ),
)
