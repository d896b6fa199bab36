"""`ops push`: deterministic zips, checksummed uploads, and waiting for every region's alias."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ops.config import load_config
from ops.errors import EXIT_TIMEOUT, OpsError, TimedOut
from ops.package import build_bundle, zip_directory
from ops.push import (
    RegionClients,
    check_push,
    code_sha256,
    event_of,
    resolve_function,
    upload,
    wait_for,
)
from tests.conftest import ROOT
from tests.test_deployer_flow import PRIMARY, REPLICA, Region, code

SINGLE_REGION = """
[stack]
name = "acme-ops"

[deployer]
region = "eu-west-1"
bucket = "acme-functions-eu-west-1"
stages = ["dev", "prod"]
functions = ["api", "worker-*"]
writers = ["arn:aws:iam::123456789012:role/ci"]
"""


def test_a_directory_zips_to_the_same_bytes_whatever_its_timestamps(tmp_path: Path) -> None:
    for name in ("a", "b"):
        folder = tmp_path / name
        (folder / "pkg" / "__pycache__").mkdir(parents=True)
        (folder / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"junk")
        (folder / "pkg" / "app.py").write_text("x = 1\n")
        (folder / "bootstrap").write_text("#!/bin/sh\n")
        (folder / "bootstrap").chmod(0o755)
        os.utime(folder / "pkg" / "app.py", (1e9 if name == "a" else 2e9,) * 2)
    first, second = zip_directory(tmp_path / "a"), zip_directory(tmp_path / "b")
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert modes == {"bootstrap": 0o100755, "pkg/app.py": 0o100644}


def test_push_refuses_what_the_deployer_would_reject() -> None:
    config = load_config(ROOT / "ops.toml")
    with pytest.raises(OpsError, match="unknown stage 'qa'"):
        check_push(config, "api", "qa")
    with pytest.raises(OpsError, match="'billing' is not on the deployer's allow-list"):
        check_push(config, "billing", "dev")
    check_push(config, "worker-7", "prod")
    name, built = resolve_function(config, "deployer")
    assert name == "acme-ops-deployer-deployer"
    assert built is not None and built() == build_bundle("deployer").zip_bytes()


def test_upload_carries_the_checksum_lambda_will_compute() -> None:
    config = load_config(ROOT / "ops.toml")
    with mock_aws():
        region = Region(PRIMARY)
        data = code("v1")
        pushed = upload(region.s3, config.deployer, PRIMARY, "api", "dev", data)
        head = region.s3.head_object(
            Bucket=pushed.bucket,
            Key="deploy/dev/api.zip",
            VersionId=pushed.version_id,
            ChecksumMode="ENABLED",
        )
    assert head["ChecksumSHA256"] == code_sha256(data) == pushed.code_sha256
    assert head["Metadata"] == {"codesha256": pushed.code_sha256}


def test_wait_follows_the_upload_into_every_region() -> None:
    config = load_config(ROOT / "ops.toml")
    with mock_aws():
        primary, replica = Region(PRIMARY), Region(REPLICA)
        for region in (primary, replica):
            region.function("api")
        data = code("v1")
        pushed = upload(primary.s3, config.deployer, PRIMARY, "api", "dev", data)
        primary.run(event_of(pushed))
        replica.s3.put_object(Bucket=replica.bucket, Key=pushed.key, Body=data)
        replica.run(replica.upload(pushed.key, data))
        clients = {r.region: RegionClients(r.lam, r.s3) for r in (primary, replica)}
        states = wait_for(config.deployer, pushed, clients, timeout=5, sleep=lambda _s: None)
    assert states == {
        PRIMARY: ("deployed", "dev -> version 2"),
        REPLICA: ("deployed", "dev -> version 2"),
    }


def test_wait_reports_the_deployers_rejection() -> None:
    config = load_config(ROOT / "ops.toml")
    with mock_aws():
        primary = Region(PRIMARY)
        primary.function("api")
        pushed = upload(primary.s3, config.deployer, PRIMARY, "api", "dev", b"not a zip")
        primary.run(event_of(pushed))
        clients = {PRIMARY: RegionClients(primary.lam, primary.s3)}
        one_region = config.deployer.__class__(**{**vars(config.deployer), "replicas": {}})
        states = wait_for(one_region, pushed, clients, timeout=5, sleep=lambda _s: None)
    status, detail = states[PRIMARY]
    assert status == "failed" and "rejected: the object is not a valid zip" in detail


def test_wait_gives_up_with_the_timeout_exit_code() -> None:
    config = load_config(ROOT / "ops.toml")
    with mock_aws():
        primary = Region(PRIMARY)
        primary.function("api")
        pushed = upload(primary.s3, config.deployer, PRIMARY, "api", "dev", code("v1"))
        clients = {PRIMARY: RegionClients(primary.lam, primary.s3)}
        one_region = config.deployer.__class__(**{**vars(config.deployer), "replicas": {}})
        ticks = iter(range(100))
        with pytest.raises(TimedOut, match="does not run the upload yet in eu-west-1") as caught:
            wait_for(
                one_region,
                pushed,
                clients,
                timeout=3,
                sleep=lambda _s: None,
                clock=lambda: float(next(ticks)),
            )
    assert caught.value.exit_code == EXIT_TIMEOUT


@pytest.mark.e2e
def test_push_then_the_deployer_run_locally_then_wait_sees_the_alias_moved(
    tmp_path: Path, write_config, moto_endpoint: str
) -> None:
    url = moto_endpoint
    lam = boto3.client("lambda", region_name=PRIMARY, endpoint_url=url)
    s3 = boto3.client("s3", region_name=PRIMARY, endpoint_url=url)
    iam = boto3.client("iam", region_name=PRIMARY, endpoint_url=url)
    s3.create_bucket(
        Bucket="acme-functions-eu-west-1",
        CreateBucketConfiguration={"LocationConstraint": PRIMARY},
    )
    s3.put_bucket_versioning(
        Bucket="acme-functions-eu-west-1", VersioningConfiguration={"Status": "Enabled"}
    )
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(
        FunctionName="api",
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code("v0")},
    )
    lam.create_alias(
        FunctionName="api",
        Name="dev",
        FunctionVersion=lam.publish_version(FunctionName="api")["Version"],
    )

    config = write_config(SINGLE_REGION)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 'v1'\n")
    event = tmp_path / "event.json"
    ops = [sys.executable, "-m", "ops.cli"]
    common = ["--config", str(config), "--endpoint-url", url, "--region", PRIMARY]
    push = subprocess.Popen(
        [
            *ops,
            "push",
            "api",
            "--stage",
            "dev",
            "--dir",
            str(tmp_path / "src"),
            "--event",
            str(event),
            "--wait",
            "--timeout",
            "90",
            *common,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for _ in range(300):  # the event file is written right after the upload
        if push.poll() is not None or (event.exists() and event.read_text().endswith("}")):
            break
        time.sleep(0.1)
    invoke = subprocess.run(
        [*ops, "invoke", "deployer", "--event", str(event), *common],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert invoke.returncode == 0, invoke.stderr
    assert json.loads(invoke.stdout)["deployed"] == 1
    out, err = push.communicate(timeout=120)
    assert push.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["regions"] == {PRIMARY: {"status": "deployed", "detail": "dev -> version 2"}}
    assert b"eu-west-1: deployed" in err
    assert lam.get_alias(FunctionName="api", Name="dev")["FunctionVersion"] == "2"
    sha = lam.get_function(FunctionName="api", Qualifier="2")["Configuration"]["CodeSha256"]
    assert sha == result["code_sha256"]
