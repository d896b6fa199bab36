"""`ops_config`: a `[[function]]`'s configuration at run time, from SSM Parameter Store and
Secrets Manager, never from its zip or environment. `ops build` puts this file in every user
function's zip as `ops_config.py`:

    import ops_config
    table = ops_config.parameter("/users/table")          # a String or SecureString value
    settings = ops_config.parameters("/users/")            # every parameter under the path
    token = ops_config.secret("users/webhook-token")       # SecretString (or SecretBinary)

Values are cached per container for `ttl` seconds (default 300, `OPS_CONFIG_TTL`), so a cold
start reads each once and a changed value is seen within the TTL. The function's role may read
exactly the names its `parameters` and `secrets` list; anything else is AccessDenied, which is
raised as it is. Clients are created lazily, once, and may be injected (`client=`) in tests.
It depends on nothing but boto3 (in every Lambda Python runtime).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

DEFAULT_TTL = 300.0
_cache: dict[tuple[str, str], tuple[float, Any]] = {}
_clients: dict[str, Any] = {}


def parameter(name: str, *, ttl: float | None = None, client: Any = None) -> str:
    """One parameter's value (SecureString decrypted)."""

    def read() -> str:
        found = _client("ssm", client).get_parameter(Name=name, WithDecryption=True)
        return str(found["Parameter"]["Value"])

    return _cached(("parameter", name), read, ttl)


def parameters(path: str, *, ttl: float | None = None, client: Any = None) -> dict[str, str]:
    """Every parameter under `path` (recursively), by full name; every page read."""

    def read() -> dict[str, str]:
        ssm = _client("ssm", client)
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            page = ssm.get_parameters_by_path(
                Path=path.rstrip("/") or "/",
                Recursive=True,
                WithDecryption=True,
                **({"NextToken": token} if token else {}),
            )
            found.update({p["Name"]: p["Value"] for p in page.get("Parameters", [])})
            token = page.get("NextToken")
            if not token:
                return found

    return _cached(("path", path), read, ttl)


def secret(name: str, *, ttl: float | None = None, client: Any = None) -> str | bytes:
    """A secret's current value: its SecretString, or its SecretBinary as bytes."""

    def read() -> str | bytes:
        found = _client("secretsmanager", client).get_secret_value(SecretId=name)
        if "SecretString" in found:
            return str(found["SecretString"])
        return bytes(found["SecretBinary"])

    return _cached(("secret", name), read, ttl)


def clear() -> None:
    """Forget every cached value (the next read goes to AWS)."""
    _cache.clear()


def _cached(key: tuple[str, str], read: Callable[[], Any], ttl: float | None) -> Any:
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = read()
    _cache[key] = (now + _ttl(ttl), value)
    return value


def _ttl(ttl: float | None) -> float:
    if ttl is not None:
        return ttl
    return float(os.environ.get("OPS_CONFIG_TTL") or DEFAULT_TTL)


def _client(service: str, given: Any) -> Any:
    if given is not None:
        return given
    if service not in _clients:
        import boto3  # on first use, not at import: cold starts stay short

        _clients[service] = boto3.client(service)
    return _clients[service]
