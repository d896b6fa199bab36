"""`ops rollback` on a moto server: the stage alias back to the deployer's recorded previous
version in every deployer region, idempotent, and refused everywhere when one region cannot."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from click.testing import CliRunner

from functions.deployer.layout import AliasRecord
from ops.cli import cli
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

REGIONS = ("eu-west-1", "ap-northeast-1")  # the bundled ops.toml's deployer regions
FUNCTION = "api"


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", text)
    return buf.getvalue()


def aws(endpoint: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


@pytest.fixture
def deployed(moto_endpoint: str) -> Iterator[str]:
    """`api` in both regions with versions 1 and 2, its prod alias on 2 as the deployer left it.
    moto's state is the process's: an `api` another module left (test_push does) goes first."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    iam = aws(moto_endpoint, "iam", REGIONS[0])
    role = iam.create_role(RoleName="api-rollback", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for region in REGIONS:
        lam = aws(moto_endpoint, "lambda", region)
        lam.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.13",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip("v1")},
        )
        lam.publish_version(FunctionName=FUNCTION)
        lam.update_function_code(FunctionName=FUNCTION, ZipFile=_zip("v2"))
        lam.publish_version(FunctionName=FUNCTION)
        record = AliasRecord("2", "1", sequencer="00AB12", code_sha256="sha2", s3_version="v2id")
        lam.create_alias(
            FunctionName=FUNCTION, Name="prod", FunctionVersion="2", Description=record.describe()
        )
    yield moto_endpoint
    for region in REGIONS:
        aws(moto_endpoint, "lambda", region).delete_function(FunctionName=FUNCTION)
    iam.delete_role(RoleName="api-rollback")


def rollback(endpoint: str, *args: str) -> Any:
    argv = ["rollback", FUNCTION, "--stage", "prod", "--config", str(ROOT / "ops.toml")]
    return CliRunner().invoke(cli, [*argv, "--endpoint-url", endpoint, *args])


def alias(endpoint: str, region: str) -> dict[str, Any]:
    found: dict[str, Any] = aws(endpoint, "lambda", region).get_alias(
        FunctionName=FUNCTION, Name="prod"
    )
    return found


def test_rollback_moves_every_region_back_and_again_changes_nothing(deployed: str) -> None:
    result = rollback(deployed)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"api:prod in {r}: version 2 -> 1" for r in ("eu-west-1", "ap-northeast-1")
    ]
    for region in REGIONS:
        now = alias(deployed, region)
        assert now["FunctionVersion"] == "1"
        # the deployer reads it as a record of version 1 with the rolled-back upload's
        # sequencer, so a redelivery of that upload is a duplicate, not a redeploy
        record = AliasRecord.parse(now["Description"])
        assert record is not None
        assert (record.version, record.sequencer, record.previous) == ("1", "00AB12", "")
        sha1 = aws(deployed, "lambda", region).get_function(FunctionName=FUNCTION, Qualifier="1")
        assert record.code_sha256 == sha1["Configuration"]["CodeSha256"]
    again = rollback(deployed)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == (
        "api:prod in eu-west-1: already rolled back to version 1 (from 2)"
    )
    assert alias(deployed, REGIONS[0])["FunctionVersion"] == "1"


def test_one_region_without_a_record_refuses_and_nothing_moves_anywhere(deployed: str) -> None:
    lam = aws(deployed, "lambda", REGIONS[1])
    lam.update_alias(FunctionName=FUNCTION, Name="prod", FunctionVersion="2", Description="by hand")
    result = rollback(deployed)
    assert result.exit_code == 1
    assert "api:prod in ap-northeast-1: no rollback record for version 2" in result.stderr
    assert [alias(deployed, r)["FunctionVersion"] for r in REGIONS] == ["2", "2"]


def test_a_first_deploy_has_nothing_to_roll_back_to(deployed: str) -> None:
    first = AliasRecord("2", "", sequencer="00AB12").describe()
    for region in REGIONS:
        aws(deployed, "lambda", region).update_alias(
            FunctionName=FUNCTION, Name="prod", Description=first
        )
    result = rollback(deployed, "--region", "eu-west-1")
    assert result.exit_code == 1
    assert "recorded no previous version (version 2 was the stage's first deploy)" in result.stderr
    assert alias(deployed, REGIONS[0])["FunctionVersion"] == "2"


def test_a_stage_the_deployer_does_not_know_exits_2(moto_endpoint: str) -> None:
    result = rollback(moto_endpoint, "--stage", "qa")
    assert result.exit_code == 2
    assert "unknown stage 'qa'" in result.stderr
