"""`ops push`: upload a function's zip to the deploy bucket, and optionally wait until every
region's stage alias runs it.

The zip comes from a file, from a directory (zipped deterministically, like our own bundles), or,
for a function `ops` itself defines (the deployer), from its bundle. It is uploaded with S3's
SHA-256 checksum (a single PUT, so the checksum is of the whole object and equals Lambda's
CodeSha256) and the same value in `codesha256` metadata. Waiting polls each region's alias until
it runs a version with that CodeSha256, or the deployer's report for the upload says why not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from ops.build import build
from ops.config import Config
from ops.errors import OpsError, TimedOut, UsageError
from ops.models.deployer import Deployer
from ops.models.user_function import FAMILY as USER_FAMILY
from ops.models.user_function import UserFunction, deployable
from ops.naming import function_name
from ops.package import build_bundle, zip_directory
from templates.deployer import BUNDLE as DEPLOYER_BUNDLE

MAX_UPLOAD = 262_144_000  # the deployer refuses larger zips: refuse them before uploading
POLL_SECONDS = 2.0
FAILED_REPORTS = ("rejected", "failed", "skipped")  # "skipped" with the code not running


@dataclass(frozen=True)
class Pushed:
    """An upload: where it went, its S3 version, and the CodeSha256 Lambda will compute."""

    function: str
    stage: str
    region: str
    bucket: str
    key: str
    version_id: str
    code_sha256: str
    size: int
    etag: str
    sequencer: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def deployer_of(config: Config) -> Deployer:
    if config.deployer is None:
        raise UsageError(f"{config.source} has no [deployer] table: add one (see docs/deployer.md)")
    return config.deployer


def resolve_function(config: Config, name: str) -> tuple[str, Callable[[], bytes] | None]:
    """(Lambda function name, how to build its code or None): an ops item's name means its
    deployed function, built from ops's bundle (the deployer) or its own code (a [[function]])."""
    deployer = deployer_of(config)
    if name == deployer.name:
        return config.function_name(*config.find(name)), build_bundle(DEPLOYER_BUNDLE).zip_bytes
    for index, fn in enumerate(config.function):
        lambda_name = function_name(config.stack.name, USER_FAMILY, fn.name)
        if name in (fn.name, lambda_name):
            return lambda_name, partial(_built_zip, config, fn, index)
    return name, None


def _built_zip(config: Config, fn: UserFunction, index: int) -> bytes:
    return build(config, fn, index).path.read_bytes()


def check_push(config: Config, function: str, stage: str) -> None:
    """Refuse, before uploading, what the deployer would reject."""
    from fnmatch import fnmatchcase

    deployer = deployer_of(config)
    if stage not in deployer.stages:
        raise UsageError(
            f"unknown stage {stage!r}: the deployer knows {', '.join(deployer.stages)}"
        )
    own = config.function_name(*config.find(deployer.name))
    allowed = deployable(config)
    if function != own and not any(fnmatchcase(function, p) for p in allowed):
        listed = ", ".join(allowed)
        raise UsageError(f"{function!r} is not on the deployer's allow-list ({listed})")
    for fn in config.function:
        declared = function_name(config.stack.name, USER_FAMILY, fn.name)
        if function == declared and stage not in fn.stages:
            stages = ", ".join(fn.stages) or "none"
            raise UsageError(f"{fn.name} has no stage {stage!r} (its stages: {stages})")


def zip_bytes(
    zip_path: str | None, dir_path: str | None, built: Callable[[], bytes] | None
) -> bytes:
    """The code to push: --zip as is, --dir zipped deterministically, or the function's own
    build (the deployer's bundle, a [[function]]'s code folder)."""
    if zip_path and dir_path:
        raise UsageError("give --zip or --dir, not both")
    if zip_path:
        data = Path(zip_path).read_bytes()
    elif dir_path:
        if not Path(dir_path).is_dir():
            raise UsageError(f"--dir {dir_path}: no such directory")
        data = zip_directory(Path(dir_path))
    elif built is not None:
        data = built()
    else:
        raise UsageError("give --zip PATH or --dir PATH with the function's code")
    if len(data) > MAX_UPLOAD:
        raise OpsError(f"the zip is {len(data):,} bytes; Lambda takes at most {MAX_UPLOAD:,}")
    return data


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: base64 of the SHA-256 of the zip's bytes."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def upload(
    s3: Any, deployer: Deployer, region: str, function: str, stage: str, data: bytes
) -> Pushed:
    bucket = deployer.bucket_in(region)
    if bucket is None:
        raise UsageError(
            f"no deploy bucket in {region}: the deployer has {deployer.region} "
            f"and replicas {', '.join(sorted(deployer.replicas)) or 'none'}"
        )
    key = deployer.object_key(stage, function)
    sha = code_sha256(data)
    try:
        response = s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=sha,  # S3 refuses the upload if the bytes it got differ
            Metadata={"codesha256": sha},
            ContentType="application/zip",
        )
    except s3.exceptions.NoSuchBucket:
        raise OpsError(
            f"the deploy bucket {bucket} does not exist in {region}: the deployer's stack "
            f"creates it, so run ops apply --region {region} first (then ops push again)"
        ) from None
    version_id = response.get("VersionId")
    if not version_id:
        raise OpsError(f"s3://{bucket} returned no version id: versioning must be enabled")
    # S3 does not expose an object's sequencer; one from the clock orders our own uploads.
    sequencer = f"{time.time_ns():020X}"
    etag = str(response.get("ETag", "")).strip('"')
    return Pushed(function, stage, region, bucket, key, version_id, sha, len(data), etag, sequencer)


def object_created_event(
    region: str,
    bucket: str,
    key: str,
    version_id: str,
    size: int,
    etag: str,
    sequencer: str,
    when: datetime | None = None,
) -> dict[str, Any]:
    """The S3 notification S3 sends for a PUT (event version 2.1), key URL-encoded as S3 does."""
    from urllib.parse import quote_plus

    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": stamp,
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:ops-push"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": sequencer[-16:],
            "x-amz-id-2": "ops-push",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "deploy",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3OPSEXAMPLE"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": etag,
                "versionId": version_id,
                "sequencer": sequencer,
            },
        },
    }
    return {"Records": [record]}


def event_of(pushed: Pushed) -> dict[str, Any]:
    return object_created_event(
        pushed.region,
        pushed.bucket,
        pushed.key,
        pushed.version_id,
        pushed.size,
        pushed.etag,
        pushed.sequencer,
    )


def wait_regions(deployer: Deployer, pushed: Pushed) -> list[str]:
    """An upload to the primary reaches every live replica now (a delayed one only once the
    upload is `delay` old: nothing to wait for); one to a replica stays there."""
    if pushed.region == deployer.region:
        return [deployer.region, *deployer.live_replicas]
    return [pushed.region]


@dataclass
class RegionClients:
    lambda_client: Any
    s3: Any


def region_state(
    deployer: Deployer, pushed: Pushed, region: str, clients: RegionClients
) -> tuple[str, str] | None:
    """("deployed" | "failed", detail), or None while the deployer has not acted yet."""
    alias = _alias(clients.lambda_client, pushed)
    if alias is not None:
        version = str(alias["FunctionVersion"])
        config = clients.lambda_client.get_function(
            FunctionName=pushed.function, Qualifier=version
        )["Configuration"]
        if config.get("CodeSha256") == pushed.code_sha256 and version != "$LATEST":
            return "deployed", f"{pushed.stage} -> version {version}"
    report = _report(deployer, pushed, region, clients.s3)
    if report and report.get("status") in FAILED_REPORTS:
        return "failed", f"{report['status']}: {report.get('reason', '')}"
    return None


def _alias(lambda_client: Any, pushed: Pushed) -> dict[str, Any] | None:
    try:
        return dict(lambda_client.get_alias(FunctionName=pushed.function, Name=pushed.stage))
    except lambda_client.exceptions.ResourceNotFoundException:
        return None


def _report(deployer: Deployer, pushed: Pushed, region: str, s3: Any) -> dict[str, Any] | None:
    bucket = deployer.bucket_in(region)
    # Replication keeps the version id, so the report has the same name in every region.
    key = deployer.report_key(pushed.stage, pushed.function, pushed.version_id)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    found: dict[str, Any] = json.loads(body)
    return found


def wait_for(
    deployer: Deployer,
    pushed: Pushed,
    clients: Mapping[str, RegionClients],
    timeout: float,
    *,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] = lambda _line: None,
) -> dict[str, tuple[str, str]]:
    """Poll every region until each has deployed or failed; TimedOut past `timeout`."""
    deadline = clock() + timeout
    pending = wait_regions(deployer, pushed)
    done: dict[str, tuple[str, str]] = {}
    while True:
        for region in list(pending):
            state = region_state(deployer, pushed, region, clients[region])
            if state:
                done[region] = state
                pending.remove(region)
                progress(f"{region}: {state[0]} ({state[1]})")
        if not pending:
            return done
        if clock() >= deadline:
            raise TimedOut(
                f"after {timeout:g}s the {pushed.stage} alias of {pushed.function} does not run "
                f"the upload yet in {', '.join(pending)}; check the deployer's logs and "
                "dead-letter queue there, or wait longer with --timeout"
            )
        sleep(poll)


def sample_event(config: Config, _section: Any, deployer: Deployer, region: str) -> dict[str, Any]:
    """`ops event deployer`: the upload of the first stage of the first listed function (or of
    the deployer itself when every entry is a glob), to the bucket of `region`."""
    names = [f for f in deployer.functions if not any(c in f for c in "*?[")]
    function = names[0] if names else config.function_name(*config.find(deployer.name))
    bucket = deployer.bucket_in(region) or deployer.bucket
    where = region if deployer.bucket_in(region) else deployer.region
    key = deployer.object_key(deployer.stages[0], function)
    sequencer = f"{time.time_ns():020X}"
    version_id = base64.urlsafe_b64encode(hashlib.sha256(sequencer.encode()).digest()[:24])
    return object_created_event(
        where, bucket, key, version_id.decode(), 1024, "d41d8cd98f00b204e9800998ecf8427e", sequencer
    )
