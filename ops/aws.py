"""boto3 sessions and clients for the CLI: one factory, so every command honours --region,
--profile and --endpoint-url the same way. Only the CLI's commands and `ops.deploy` use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class AwsTarget:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    def session(self) -> Any:
        return _session(self.profile, self.region)

    def client(self, service: str, **config: Any) -> Any:
        from botocore.config import Config

        retries = {"mode": "standard", "max_attempts": 8}
        return self.session().client(
            service,
            endpoint_url=self.endpoint_url,
            config=Config(retries=retries, **config),
        )


@cache
def _session(profile: str | None, region: str | None) -> Any:
    """One boto3 session per (profile, region): building one reads the whole botocore data
    path again, so several clients of one command share it (sessions are not thread-safe;
    the CLI is single-threaded)."""
    import boto3

    return boto3.Session(profile_name=profile, region_name=region)
