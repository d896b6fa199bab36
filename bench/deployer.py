"""Deployer vs a CI script of aws CLI calls, on the events S3 really delivers (moto, in-process).

The script a user would otherwise run per upload notification (`aws lambda update-function-code
--s3-bucket --s3-key --s3-object-version`, `aws lambda wait function-updated-v2`,
`aws lambda publish-version`, `aws lambda update-alias`) is replayed with the same boto3 calls.
The stream: 10 uploads, each event delivered twice (at-least-once), then two late deliveries of
older uploads. Printed: Lambda/S3 calls, writes, versions published, and whether the alias ends on
the newest upload.

moto's UpdateFunctionCode reads the newest object and ignores S3ObjectVersion, so the late
deliveries cannot make the script roll back here; on AWS they would (it redeploys upload 3, then
6). The deployer skips them from the alias record without reading the object.

    python bench/deployer.py
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import os

for key, value in {
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "AWS_DEFAULT_REGION": "eu-west-1",
}.items():
    os.environ.setdefault(key, value)

from moto import mock_aws  # noqa: E402

from functions.deployer.api import DeployApi  # noqa: E402
from functions.deployer.deploy import deploy_event  # noqa: E402
from functions.runtime.budget import TimeBudget  # noqa: E402
from ops.push import code_sha256  # noqa: E402
from tests.test_deployer_flow import PRIMARY, SETTINGS, Region, code  # noqa: E402

WRITES = {"UpdateFunctionCode", "PublishVersion", "UpdateAlias", "CreateAlias", "PutObject"}


UPLOADS = [code(f"v{i}") for i in range(10)]
NEWEST = code_sha256(UPLOADS[-1])


def stream(region: Region) -> Iterator[dict[str, Any]]:
    """Each upload's event twice, right after the upload (moto's UpdateFunctionCode reads the
    newest object, not the pinned version), then two late deliveries of older uploads."""
    events = []
    for data in UPLOADS:
        events.append(region.upload("deploy/dev/api.zip", data))
        yield events[-1]
        yield events[-1]
    yield events[3]
    yield events[6]


def naive(region: Region, events: Iterable[dict[str, Any]]) -> Counter[str]:
    calls: Counter[str] = Counter()
    for event in events:
        for record in event["Records"]:
            obj = record["s3"]["object"]
            region.lam.update_function_code(
                FunctionName="api",
                S3Bucket=region.bucket,
                S3Key=obj["key"],
                S3ObjectVersion=obj["versionId"],
            )
            region.lam.get_waiter("function_updated_v2").wait(FunctionName="api")
            version = region.lam.publish_version(FunctionName="api")["Version"]
            region.lam.update_alias(FunctionName="api", Name="dev", FunctionVersion=version)
            calls.update(
                ["UpdateFunctionCode", "GetFunction (waiter)", "PublishVersion", "UpdateAlias"]
            )
    return calls


def deployer(region: Region, events: Iterable[dict[str, Any]]) -> Counter[str]:
    api = DeployApi(region.lam, region.s3)
    for event in events:
        deploy_event(event, SETTINGS, api, TimeBudget.seconds(60))
    return api.calls


def run(name: str, fn: Any) -> list[Any]:
    with mock_aws():
        region = Region(PRIMARY)
        region.function("api")
        delivered: list[dict[str, Any]] = []

        def kept(event: dict[str, Any]) -> dict[str, Any]:
            delivered.append(event)
            return event

        events = (kept(e) for e in stream(region))
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the deployer's JSON log lines
            calls = fn(region, events)
        seconds = time.perf_counter() - started
        newest = region.running_sha("api") == NEWEST
        versions = len(region.versions("api")) - 1
    writes = sum(n for op, n in calls.items() if op in WRITES)
    return [name, len(delivered), sum(calls.values()), writes, versions, newest, f"{seconds:.2f}"]


def main() -> None:
    header = ["tool", "events", "API calls", "writes", "versions", "ends on newest", "seconds"]
    rows = [run("aws CLI script", naive), run("ops deployer", deployer)]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
