"""examples/users-loader end to end on a moto server: `ops apply` builds the [[function]] and
creates it with its bucket, alias and role; a users file uploaded to the bucket is loaded by
the function run through `ops invoke` under its own role with moto's IAM enforcement on, and
the same run fails without dynamodb:BatchWriteItem in the role.

moto runs Lambda code only in Docker, so the S3 notification does not run the function here:
the upload's event comes from `ops event loader` with the uploaded key put in.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT
from tests.test_bundled_stack_e2e import (
    REGION,
    Case,
    aws,
    invoke_as_role,
    ops,
    role_of,
    without,
)

pytestmark = pytest.mark.e2e

BUCKET = "users-inbox-eu-west-1"
FUNCTION = "users-fn-loader"
KEY = "incoming/users 2026.csv"
CSV = "id,email,name\nu1,a@example.com,A\nu2,not-mail,B\nu1,a2@example.com,A2\nu3,c@example.com,C\n"


@pytest.fixture(scope="module")
def endpoint(moto_endpoint: str) -> Iterator[str]:
    """moto's state lives in the process: start from none and leave none."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    yield moto_endpoint
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)


@pytest.fixture(scope="module")
def deployed(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("OPS_BUILD_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield _deploy(endpoint, tmp_path_factory.mktemp("users-loader"))


def _deploy(endpoint: str, folder: Path) -> Path:
    shutil.copytree(ROOT / "examples" / "users-loader", folder, dirs_exist_ok=True)
    ddb = aws(endpoint, "dynamodb")
    ddb.create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws(endpoint, "ssm").put_parameter(Name="/users-loader/table", Value="users", Type="String")
    result = ops(
        endpoint, "apply", "--config", str(folder / "ops.toml"), "--region", REGION, "--yes"
    )
    assert result.exit_code == 0, result.stderr
    return folder / "ops.toml"


def seed(endpoint: str) -> None:
    aws(endpoint, "s3").put_object(Bucket=BUCKET, Key=KEY, Body=CSV.encode())


def with_key(endpoint: str, text: str) -> str:
    from urllib.parse import quote_plus

    event = json.loads(text)
    event["Records"][0]["s3"]["object"]["key"] = quote_plus(KEY)
    return json.dumps(event)


def loaded(endpoint: str, report: dict[str, Any]) -> None:
    [file] = report["files"]
    assert file["key"] == KEY and file["written"] == 2
    assert file["rejected"] == [{"line": 3, "reason": "not an e-mail address: 'not-mail'"}]
    items = aws(endpoint, "dynamodb").scan(TableName="users")["Items"]
    assert {i["id"]["S"]: i["email"]["S"] for i in items} == {
        "u1": "a2@example.com",
        "u3": "c@example.com",
    }


CASE = Case("loader", FUNCTION, "dynamodb:BatchWriteItem", seed, loaded, with_key)


def test_apply_creates_the_function_from_its_build_with_its_alias_and_bucket(
    endpoint: str,
    deployed: Path,
) -> None:
    lam = aws(endpoint, "lambda")
    config = lam.get_function(FunctionName=FUNCTION)["Configuration"]
    assert config["Handler"] == "app.handler"  # moto's CloudFormation drops Architectures
    assert config["Environment"]["Variables"] == {"TABLE_PARAMETER": "/users-loader/table"}
    assert lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"] == "$LATEST"
    s3 = aws(endpoint, "s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=f"ops-artifacts-123456789012-{REGION}")["Contents"]
    ]
    assert any(k.startswith("user/loader/") for k in keys)


def test_an_upload_is_loaded_under_the_functions_own_role(
    endpoint: str,
    deployed: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CASE.seed(endpoint)
    result = invoke_as_role(endpoint, deployed, CASE, monkeypatch)
    assert result.exit_code == 0, result.stderr
    CASE.check(endpoint, json.loads(result.stdout))


def test_the_run_fails_without_batch_write_item(
    endpoint: str,
    deployed: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CASE.seed(endpoint)
    with without(endpoint, role_of(endpoint, FUNCTION), CASE.needed):
        result = invoke_as_role(endpoint, deployed, CASE, monkeypatch)
    assert result.exit_code != 0
    assert "AccessDenied" in result.stdout + result.stderr
