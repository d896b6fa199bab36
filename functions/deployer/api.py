"""The deployer's AWS calls, one method each, counted: the only code here that talks to AWS.

Clients are injected (one Lambda and one S3 client of the deployer's own region), so tests pass
moto clients or stubs and the report can say how many calls each record cost.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CHUNK = 1024 * 1024


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


@dataclass
class DeployApi:
    lambda_client: Any
    s3: Any
    calls: Counter[str] = field(default_factory=Counter)

    def _count(self, operation: str) -> None:
        self.calls[operation] += 1

    # Lambda ---------------------------------------------------------------------------------
    def get_alias(self, function: str, alias: str) -> dict[str, Any]:
        self._count("GetAlias")
        return dict(self.lambda_client.get_alias(FunctionName=function, Name=alias))

    def get_function(self, function: str, qualifier: str | None = None) -> dict[str, Any]:
        self._count("GetFunction")
        extra = {"Qualifier": qualifier} if qualifier else {}
        return dict(
            self.lambda_client.get_function(FunctionName=function, **extra)["Configuration"]
        )

    def update_code(self, function: str, bucket: str, key: str, version_id: str) -> None:
        """Code only: the function's configuration belongs to CloudFormation."""
        self._count("UpdateFunctionCode")
        self.lambda_client.update_function_code(
            FunctionName=function, S3Bucket=bucket, S3Key=key, S3ObjectVersion=version_id
        )

    def wait_updated(self, function: str, max_seconds: float) -> dict[str, Any]:
        """Until the code update is done (a second update meanwhile would conflict)."""
        attempts = max(1, int(max_seconds))
        self._count("GetFunction (waiter)")
        self.lambda_client.get_waiter("function_updated_v2").wait(
            FunctionName=function, WaiterConfig={"Delay": 1, "MaxAttempts": attempts}
        )
        return self.get_function(function)

    def publish(self, function: str, code_sha256: str, revision: str | None, text: str) -> str:
        """A version of exactly this code, from exactly the revision we updated (when the
        service tells it: Lambda does, moto does not)."""
        self._count("PublishVersion")
        extra = {"RevisionId": revision} if revision else {}
        response = self.lambda_client.publish_version(
            FunctionName=function, CodeSha256=code_sha256, Description=text, **extra
        )
        return str(response["Version"])

    def invoke(self, function: str, version: str, payload: Any) -> dict[str, Any]:
        self._count("Invoke")
        response = self.lambda_client.invoke(
            FunctionName=function, Qualifier=version, Payload=json.dumps(payload).encode()
        )
        body = response.get("Payload")
        text = body.read().decode("utf-8", "replace") if body is not None else ""
        return {"FunctionError": response.get("FunctionError"), "Payload": text}

    def update_alias(
        self, function: str, alias: str, version: str, revision: str, description: str
    ) -> None:
        self._count("UpdateAlias")
        self.lambda_client.update_alias(
            FunctionName=function,
            Name=alias,
            FunctionVersion=version,
            Description=description,
            RevisionId=revision,
        )

    def create_alias(self, function: str, alias: str, version: str, description: str) -> None:
        self._count("CreateAlias")
        self.lambda_client.create_alias(
            FunctionName=function, Name=alias, FunctionVersion=version, Description=description
        )

    # S3 -------------------------------------------------------------------------------------
    def head_object(self, bucket: str, key: str, version_id: str) -> dict[str, Any]:
        self._count("HeadObject")
        return dict(
            self.s3.head_object(
                Bucket=bucket, Key=key, VersionId=version_id, ChecksumMode="ENABLED"
            )
        )

    def get_range(self, bucket: str, key: str, version_id: str, first: int, last: int) -> bytes:
        self._count("GetObject (range)")
        response = self.s3.get_object(
            Bucket=bucket, Key=key, VersionId=version_id, Range=f"bytes={first}-{last}"
        )
        return bytes(response["Body"].read())

    def sha256_of(self, bucket: str, key: str, version_id: str) -> str:
        """Lambda's CodeSha256 of the object, streamed (for uploads that carry no checksum)."""
        self._count("GetObject")
        body = self.s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(CHUNK), b""):
            digest.update(chunk)
        return base64.b64encode(digest.digest()).decode()

    def put_report(self, bucket: str, key: str, report: dict[str, Any]) -> None:
        self._count("PutObject")
        self.s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(report, sort_keys=True).encode(),
            ContentType="application/json",
        )
