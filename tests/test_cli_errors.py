"""The CLI's first-hour mistakes: each one `Error: ...` line on stderr, the documented exit code,
found before any AWS call, and no traceback (issue "First hour with ops")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ops.aws import AwsTarget, _session
from ops.cli import cli
from ops.errors import EXIT_FAILED, EXIT_USAGE
from tests.configs import one_job


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ops.toml"
    path.write_text(one_job())
    monkeypatch.setenv("OPS_CONFIG", str(path))
    _session.cache_clear()  # a session keeps the credentials it found: one per test
    return path


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building any AWS client fails the test: these mistakes must be caught before one."""

    def client(self: AwsTarget, service: str, **config: Any) -> Any:
        raise AssertionError(f"an AWS client for {service} was built")

    monkeypatch.setattr(AwsTarget, "client", client)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def first_error(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()[0]


@pytest.mark.usefixtures("config", "no_aws")
@pytest.mark.parametrize("command", ["apply --yes", "plan", "status", "destroy --yes"])
@pytest.mark.parametrize(
    ("region", "says"),
    [
        ("eu-west-9", "unknown region 'eu-west-9': did you mean eu-west-3"),
        ("ireland", "unknown region 'ireland': expected a name like eu-west-1"),
        ("EU-WEST-1", "unknown region 'EU-WEST-1': region names are lower case: eu-west-1"),
    ],
)
def test_a_wrong_region_is_a_usage_error(command: str, region: str, says: str) -> None:
    result = run(*command.split(), "--region", region)
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith(f"Error: {says}")


@pytest.mark.usefixtures("config", "no_aws")
def test_a_wrong_region_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "ireland")
    result = run("status")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith("Error: unknown region 'ireland'")


@pytest.mark.usefixtures("config", "no_aws")
def test_validate_checks_the_region_before_cfn_lint() -> None:
    result = run("validate", "--region", "EU-WEST-1")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith("Error: unknown region 'EU-WEST-1'")


def test_any_well_formed_region_goes_to_an_endpoint_url(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local emulator may serve regions botocore has not heard of; names still need the form."""
    from ops.cli.context import AwsOptions

    options = AwsOptions(regions=("eu-west-9",), endpoint_url="http://127.0.0.1:9")
    assert options.resolved_regions() == ["eu-west-9"]
    with pytest.raises(Exception, match="unknown region 'ireland'"):
        AwsOptions(regions=("ireland",), endpoint_url="http://127.0.0.1:9").resolved_regions()


@pytest.mark.usefixtures("config", "no_aws")
@pytest.mark.parametrize("command", ["status", "apply --yes", "plan", "destroy --yes"])
def test_an_endpoint_url_without_a_scheme_is_a_usage_error(command: str) -> None:
    result = run(*command.split(), "--region", "eu-west-1", "--endpoint-url", "127.0.0.1:5123")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result) == (
        "Error: --endpoint-url '127.0.0.1:5123' is not an http(s) URL: give scheme and host, "
        "e.g. http://127.0.0.1:5123"
    )


@pytest.mark.usefixtures("config", "no_aws")
def test_no_region_anywhere_says_where_one_is_read_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("status")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result) == (
        "Error: no region: pass --region R (read from --region, $AWS_REGION, "
        "$AWS_DEFAULT_REGION or the profile's region)"
    )


@pytest.mark.usefixtures("config", "no_aws")
@pytest.mark.parametrize("command", ["status", "apply --yes", "plan"])
def test_no_credentials_says_what_to_set(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run(*command.split(), "--region", "eu-west-1")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result) == (
        "Error: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
        "AWS_PROFILE (or --profile) naming a profile that has them (any value works against a "
        "local moto server)"
    )


@pytest.mark.usefixtures("config", "no_aws")
def test_an_unknown_profile_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("status", "--region", "eu-west-1", "--profile", "nope")
    assert result.exit_code == EXIT_USAGE
    assert first_error(result).startswith("Error: no AWS profile 'nope' in ~/.aws/config")


def test_credentials_missing_mid_call_say_what_to_set_too() -> None:
    from botocore.exceptions import NoCredentialsError

    from ops.aws import describe_aws_error

    message, code = describe_aws_error(NoCredentialsError()) or ("", 0)
    assert code == EXIT_USAGE
    assert message.startswith("no AWS credentials found: set AWS_ACCESS_KEY_ID")


@pytest.mark.usefixtures("config")
def test_status_of_a_missing_stack_is_a_clear_answer(moto_endpoint: str) -> None:
    result = run("status", "--region", "eu-west-1", "--endpoint-url", moto_endpoint)
    assert result.exit_code == EXIT_FAILED
    assert first_error(result) == (
        "Error: stack acme-ops does not exist in eu-west-1: run ops apply --region eu-west-1"
    )
    assert result.stdout == ""


@pytest.mark.usefixtures("config")
def test_status_json_of_a_missing_stack_is_json(moto_endpoint: str) -> None:
    import json

    result = run("status", "--json", "--region", "eu-west-2", "--endpoint-url", moto_endpoint)
    assert result.exit_code == EXIT_FAILED
    assert json.loads(result.stdout) == {
        "stack": "acme-ops",
        "region": "eu-west-2",
        "exists": False,
        "status": None,
    }
    assert first_error(result).startswith("Error: stack acme-ops does not exist in eu-west-2")


@pytest.mark.usefixtures("config")
def test_an_endpoint_that_answers_html_is_named_with_the_call(moto_endpoint: str) -> None:
    """moto answers a region it does not serve with a raw HTTP 500 page (not an AWS error)."""
    result = run("status", "--region", "eu-west-9", "--endpoint-url", moto_endpoint)
    assert result.exit_code == EXIT_FAILED
    assert first_error(result) == (
        f"Error: the endpoint failed: it answered DescribeStacks to {moto_endpoint}/ with an HTML "
        'page "500 Internal Server Error", not an AWS response; check the endpoint (its logs, '
        "--endpoint-url, --region) and try again"
    )
    assert len(result.stderr.splitlines()) == 1


def test_an_http_error_without_an_aws_body_names_the_endpoint() -> None:
    from botocore.exceptions import ClientError

    from ops.aws import describe_aws_error

    error = ClientError({"Error": {"Code": "502", "Message": "Bad Gateway"}}, "GetFunction")
    message, code = describe_aws_error(error) or ("", 0)
    assert code == EXIT_FAILED
    assert message.startswith("the endpoint failed: it answered ")
    assert "with HTTP 502 Bad Gateway, not an AWS response" in message


@pytest.mark.parametrize(
    "command",
    ["", "render", "validate", "event", "invoke", "push", "apply", "plan", "status", "destroy"],
)
def test_dash_h_is_help_on_every_command(command: str) -> None:
    result = run(*command.split(), "-h")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    assert "-h, --help" in result.stdout


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"version": "0", "detail": {', "line 1 column 29"),  # truncated
        ("not json at all\n", "line 1 column 1"),
        ('{\n  "a": 1,\n  "b": \n}', "line 4 column 1"),
    ],
)
def test_invoke_of_an_event_that_is_not_json_names_the_file_and_place(
    config: Path, no_aws: None, tmp_path: Path, text: str, says: str
) -> None:
    event = tmp_path / "event.json"
    event.write_text(text)
    result = run("invoke", "tmp-images", "--region", "eu-west-1", "--event", str(event))
    assert result.exit_code == EXIT_USAGE, result.output
    assert first_error(result).startswith(f"Error: --event {event}: not JSON at {says}")
