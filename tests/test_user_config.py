"""`ops_config` (functions/user_config.py, in every [[function]] zip): parameters and secrets
read at run time, every page of a path, cached per container until the TTL runs out."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from functions import user_config


@pytest.fixture
def aws() -> Iterator[tuple[object, object]]:
    with mock_aws():
        user_config.clear()
        user_config._clients.clear()
        yield boto3.client("ssm"), boto3.client("secretsmanager")
    user_config.clear()
    user_config._clients.clear()


def test_a_secure_string_is_read_decrypted(aws) -> None:
    ssm, _ = aws
    ssm.put_parameter(Name="/users/table", Value="users-prod", Type="SecureString")
    assert user_config.parameter("/users/table") == "users-prod"


def test_a_path_is_read_to_its_last_page(aws) -> None:
    ssm, _ = aws
    for i in range(23):  # GetParametersByPath returns at most 10 a page
        ssm.put_parameter(Name=f"/users/limits/l{i:02d}", Value=str(i), Type="String")
    ssm.put_parameter(Name="/users/deep/x/y", Value="deep", Type="String")
    ssm.put_parameter(Name="/other/z", Value="no", Type="String")
    found = user_config.parameters("/users/")
    assert len(found) == 24 and found["/users/limits/l22"] == "22"
    assert found["/users/deep/x/y"] == "deep" and "/other/z" not in found


def test_secrets_string_and_binary(aws) -> None:
    _, secrets = aws
    secrets.create_secret(Name="users/webhook", SecretString="s3cr3t")
    secrets.create_secret(Name="users/cert", SecretBinary=b"\x00\x01")
    assert user_config.secret("users/webhook") == "s3cr3t"
    assert user_config.secret("users/cert") == b"\x00\x01"


def test_values_are_cached_until_the_ttl_runs_out(aws, monkeypatch) -> None:
    ssm, _ = aws
    ssm.put_parameter(Name="/users/table", Value="v1", Type="String")
    now = [1000.0]
    monkeypatch.setattr(user_config.time, "monotonic", lambda: now[0])
    assert user_config.parameter("/users/table", ttl=60) == "v1"
    ssm.put_parameter(Name="/users/table", Value="v2", Type="String", Overwrite=True)
    now[0] += 59
    assert user_config.parameter("/users/table", ttl=60) == "v1"  # one read per cold start
    now[0] += 2
    assert user_config.parameter("/users/table", ttl=60) == "v2"  # a change is seen in time


def test_the_ttl_comes_from_the_environment(aws, monkeypatch) -> None:
    ssm, _ = aws
    monkeypatch.setenv("OPS_CONFIG_TTL", "0")
    ssm.put_parameter(Name="/a", Value="1", Type="String")
    assert user_config.parameter("/a") == "1"
    ssm.put_parameter(Name="/a", Value="2", Type="String", Overwrite=True)
    assert user_config.parameter("/a") == "2"


def test_a_missing_parameter_raises_aws_error_and_caches_nothing(aws) -> None:
    ssm, _ = aws
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        user_config.parameter("/missing")
    ssm.put_parameter(Name="/missing", Value="now", Type="String")
    assert user_config.parameter("/missing") == "now"
