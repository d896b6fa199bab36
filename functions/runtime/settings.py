"""A function's settings: its job from the environment and secrets from Secrets Manager, read
at run time and never baked into the zip or the template.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

JOB_ENV = "OPS_JOB"
SECRET_TTL_SECONDS = 300.0

_secrets: dict[str, tuple[float, str]] = {}


class SettingsError(Exception):
    """The function was deployed or invoked without the settings it needs."""


def job() -> dict[str, Any]:
    """The job this function runs, rendered by `ops` into `$OPS_JOB` as JSON."""
    raw = os.environ.get(JOB_ENV)
    if not raw:
        raise SettingsError(f"${JOB_ENV} is not set: deploy with `ops apply` or run `ops invoke`")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"${JOB_ENV} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SettingsError(f"${JOB_ENV} must be a JSON object")
    return value


def secret(secret_id: str, client: Any, ttl: float = SECRET_TTL_SECONDS) -> str:
    """A Secrets Manager secret string, cached per container for `ttl` seconds."""
    cached = _secrets.get(secret_id)
    now = time.monotonic()
    if cached and now - cached[0] < ttl:
        return cached[1]
    value = client.get_secret_value(SecretId=secret_id)["SecretString"]
    _secrets[secret_id] = (now, value)
    return str(value)
