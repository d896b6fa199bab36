"""How names in the config become function names and CloudFormation logical ids.

Both are derived, never stored, so `ops render`, `ops invoke` and `ops apply` agree on them and a
rename in the config is the only thing that renames a resource.
"""

from __future__ import annotations

MAX_FUNCTION_NAME = 64
# The account in local contexts and sample events; no call is made to learn the real one.
LOCAL_ACCOUNT = "000000000000"


def function_name(stack: str, family: str, name: str) -> str:
    """`acme-ops-purge-tmp-images`: the deployed Lambda function's name."""
    return f"{stack}-{family}-{name}"


def logical_id(*parts: str) -> str:
    """`logical_id("purge", "tmp-images", "Function")` -> `PurgeTmpImagesFunction`."""
    words = [w for part in parts for w in part.replace("_", "-").split("-") if w]
    return "".join(w[:1].upper() + w[1:] for w in words)
