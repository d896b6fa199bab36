"""A function's settings: its job from the environment and secrets from Secrets Manager, read
at run time and never baked into the zip or the template.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from typing import Any

JOB_ENV = "OPS_JOB"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SECRET_TTL_SECONDS = 300.0

_secrets: dict[str, tuple[float, str]] = {}


class SettingsError(ValueError):
    """The function was deployed or invoked without the settings it needs (a bad value)."""


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


def webhook_url(secret_id: str, client: Any) -> str:
    """The webhook URL a secret holds (the URL, or JSON with `url` or `webhook_url`).

    Only https, or plain http to a local listener (tests, `ops invoke`): a webhook URL is a
    credential and is never sent in clear. Raises `SettingsError` otherwise, never naming the
    URL itself.
    """
    raw = secret(secret_id, client).strip()
    url = raw
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            data = {}
        url = str(
            (data.get("url") or data.get("webhook_url") or "") if isinstance(data, dict) else ""
        )
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "https" and parsed.hostname:
        return url
    if parsed.scheme == "http" and parsed.hostname in LOOPBACK:
        return url
    raise SettingsError(
        f"secret {secret_id!r} does not hold an https:// webhook URL (or JSON with 'url')"
    )
