"""`ops push`, `ops event` and `ops invoke` from the command line: usage errors exit 2, a missing
deploy bucket says what to do, and the sample event names the region (and account) in use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from ops.aws import _session
from ops.cli import cli
from ops.errors import EXIT_FAILED, EXIT_USAGE
from tests.configs import one_job
from tests.test_push import SINGLE_REGION


@pytest.fixture(autouse=True)
def fresh_sessions() -> None:
    _session.cache_clear()  # a session keeps the credentials and region it found


@pytest.fixture
def deployer_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ops.toml"
    path.write_text(SINGLE_REGION)
    monkeypatch.setenv("OPS_CONFIG", str(path))
    return path


@pytest.fixture
def job_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ops.toml"
    path.write_text(one_job())
    monkeypatch.setenv("OPS_CONFIG", str(path))
    return path


@pytest.fixture
def code_zip(tmp_path: Path) -> Path:
    path = tmp_path / "code.zip"
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def first_error(result: Result) -> str:
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.stderr.splitlines()[0]


@pytest.mark.usefixtures("deployer_config")
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["api", "--stage", "dev"],
            "Error: give --zip PATH or --dir PATH",
        ),
        (["api", "--stage", "qa", "--zip", "ZIP"], "Error: unknown stage 'qa': the deployer knows"),
        (
            ["billing", "--stage", "dev", "--zip", "ZIP"],
            "Error: 'billing' is not on",
        ),
        (["api", "--stage", "dev", "--zip", "ZIP", "--dir", "."], "Error: give --zip or --dir"),
        (["api", "--stage", "dev", "--zip", "ZIP", "--region", "us-west-2"], "Error: no deploy "),
        (["api", "--stage", "dev", "--zip", "ZIP", "--region", "ireland"], "Error: unknown region"),
    ],
)
def test_push_usage_errors_exit_2(args: list[str], says: str, code_zip: Path) -> None:
    result = run("push", *[str(code_zip) if a == "ZIP" else a for a in args])
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith(says)


def test_push_without_a_deployer_table_is_a_usage_error(job_config: Path, code_zip: Path) -> None:
    result = run("push", "api", "--stage", "dev", "--zip", str(code_zip))
    assert result.exit_code == EXIT_USAGE
    assert first_error(result) == (
        f"Error: {job_config} has no [deployer] table: add one (see docs/deployer.md)"
    )


@pytest.mark.usefixtures("deployer_config")
def test_push_before_apply_names_the_bucket_the_region_and_the_next_step(code_zip: Path) -> None:
    with mock_aws():
        result = run("push", "api", "--stage", "dev", "--zip", str(code_zip))
    assert result.exit_code == EXIT_FAILED
    assert first_error(result) == (
        "Error: the deploy bucket acme-functions-eu-west-1 does not exist in eu-west-1: the "
        "deployer's stack creates it, so run ops apply --region eu-west-1 first (then ops push "
        "again)"
    )


@pytest.mark.usefixtures("job_config")
def test_invoke_with_a_bad_env_pair_is_a_usage_error() -> None:
    result = run("invoke", "tmp-images", "--env", "NOVALUE")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result) == "Error: --env takes KEY=VALUE, got 'NOVALUE'"


@pytest.mark.usefixtures("job_config")
def test_invoke_checks_its_endpoint_url() -> None:
    result = run("invoke", "tmp-images", "--endpoint-url", "localhost:5000")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith("Error: --endpoint-url 'localhost:5000' is not an")


@pytest.mark.usefixtures("job_config")
@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-2"),
        ({"AWS_REGION": None, "AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
    ],
)
def test_event_reads_the_region_like_every_command(
    env: dict[str, str | None], region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, value)
    result = run("event", "tmp-images")
    assert result.exit_code == 0, result.stderr
    event = json.loads(result.stdout)
    assert event["region"] == region
    assert event["resources"][0].startswith(f"arn:aws:events:{region}:000000000000:rule/")


@pytest.mark.usefixtures("job_config")
def test_event_takes_the_account_from_a_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCOUNT_ID", "123456789012")
    from_env = json.loads(run("event", "tmp-images").stdout)
    from_flag = json.loads(run("event", "tmp-images", "--account", "210987654321").stdout)
    assert from_env["account"] == "123456789012"
    assert ":123456789012:rule/" in from_env["resources"][0]
    assert from_flag["account"] == "210987654321"


@pytest.mark.usefixtures("job_config")
def test_event_refuses_an_account_that_is_not_12_digits() -> None:
    result = run("event", "tmp-images", "--account", "1234")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith("Error: --account (or $AWS_ACCOUNT_ID) takes a 12-digit")


@pytest.mark.usefixtures("job_config")
def test_event_refuses_a_wrong_region() -> None:
    result = run("event", "tmp-images", "--region", "EU-WEST-1")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith("Error: unknown region 'EU-WEST-1'")


@pytest.mark.usefixtures("job_config")
def test_event_without_any_region_says_which_it_uses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("event", "tmp-images")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["region"] == "us-east-1"
    assert result.stderr.startswith("warning: no region set (")


def test_the_account_reaches_inside_a_logs_event() -> None:
    import base64
    import gzip

    from ops.awslogs import encode
    from ops.events import with_account

    message = {"owner": "000000000000", "id": "38000000000000000000000001"}
    swapped = with_account({"awslogs": {"data": encode(message)}}, "123456789012")
    raw = gzip.decompress(base64.b64decode(swapped["awslogs"]["data"]))
    assert json.loads(raw) == {"owner": "123456789012", "id": "38000000000000000000000001"}
