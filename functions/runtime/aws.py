"""boto3 clients, created lazily once per container and shared by every record and invocation.

boto3 itself is imported on first use, not at module import, to keep cold starts short. Clients
honour `AWS_ENDPOINT_URL` (botocore does), which is how `ops invoke --endpoint-url` points a
function at a local moto server.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# Standard retry mode retries throttling and 5xx (S3 503 SlowDown among them) with jittered
# exponential back-off; families that need more attempts ask for them.
DEFAULT_ATTEMPTS = 5


@cache
def client(
    service: str,
    max_attempts: int = DEFAULT_ATTEMPTS,
    max_pool: int = 10,
    region: str | None = None,
) -> Any:
    """A client in the function's region, or in `region` (the copier reads another's bucket)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max_pool,
    )
    return boto3.client(service, config=config, region_name=region)
