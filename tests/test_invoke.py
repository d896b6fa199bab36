"""`ops invoke` and `ops event`: a local run with the deployed function's settings and context."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from ops.cli import cli
from ops.config import load_config
from ops.errors import OpsError
from ops.invoke import LocalContext, function_definition, rendered_definition
from tests.conftest import REGION, ROOT

CONFIG = str(ROOT / "ops.toml")
EXAMPLES = [ROOT / "ops.toml", *sorted((ROOT / "examples").glob("*.toml"))]


def test_definition_has_the_deployed_functions_settings() -> None:
    definition = function_definition(load_config(CONFIG), "tmp-images")
    assert definition.name == "acme-ops-purge-tmp-images"
    assert definition.handler == "functions.purge.handler.handler"
    assert (definition.timeout, definition.memory) == (900, 512)
    assert json.loads(definition.environment["OPS_JOB"])["bucket"] == "acme-media"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_a_purge_jobs_definition_from_its_model_is_what_the_template_renders(path: Path) -> None:
    """`ops invoke` computes a purge job's function without rendering: handler, timeout,
    memory and $OPS_JOB must be byte for byte the template's, for every job of every example."""
    config = load_config(path)
    names = [f"purge/{item.name}" for section, item in config.items() if section.key == "purge"]
    compared = 0
    for name in names:
        try:
            rendered = rendered_definition(config, name)
        except OpsError:  # mode = "lifecycle": S3 deletes, no function to run
            with pytest.raises(OpsError, match="renders no function of its own"):
                function_definition(config, name)
            continue
        assert function_definition(config, name) == rendered
        compared += 1
    assert compared or not names


def test_context_counts_down_from_the_timeout() -> None:
    context = LocalContext("fn", 128, timeout=3, region=REGION)
    assert 0 < context.get_remaining_time_in_millis() <= 3000
    assert context.invoked_function_arn.endswith(f":{REGION}:000000000000:function:fn")


# AWS's Python LambdaContext (awslambdaric; docs "AWS Lambda context object in Python").
LAMBDA_CONTEXT = {
    "function_name", "function_version", "invoked_function_arn", "memory_limit_in_mb",
    "aws_request_id", "log_group_name", "log_stream_name", "identity", "client_context",
    "get_remaining_time_in_millis",
}  # fmt: skip


def test_the_local_context_has_exactly_the_attributes_of_lambdas() -> None:
    """Bug: the local context also had `timeout` (and `region`), which hid a responder reading
    `context.timeout`, an attribute no deployed function ever sees."""
    context = LocalContext("fn", 256, timeout=3, region=REGION)
    public = {name for name in dir(context) if not name.startswith("_")}
    assert public == LAMBDA_CONTEXT
    assert callable(context.get_remaining_time_in_millis)
    assert (context.memory_limit_in_mb, context.function_version) == ("256", "$LATEST")
    assert (context.identity, context.client_context) == (None, None)
    assert context.log_group_name == "/aws/lambda/fn"


@mock_aws
def test_invoke_prints_the_result_on_stdout_and_logs_on_stderr() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="acme-media", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="acme-media", Key="tmp/fresh.png", Body=b"x")
    result = CliRunner().invoke(cli, ["invoke", "tmp-images", "--config", CONFIG])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "finished" and report["kept"] == {"too-young": 1}
    assert '"message":"purge report"' in result.stderr


@mock_aws
def test_a_failing_function_answers_like_lambda_and_exits_1() -> None:
    result = CliRunner().invoke(cli, ["invoke", "tmp-images", "--config", CONFIG])  # no bucket
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["errorType"] == "PurgeFailed"
    assert "NoSuchBucket" in payload["errorMessage"]
    assert "Traceback" in result.stderr  # the function's logs, as CloudWatch would hold them
    assert (
        result.stderr.rstrip()
        .splitlines()[-1]
        .startswith("Error: acme-ops-purge-tmp-images failed: PurgeFailed:")
    )


def test_event_prints_a_scheduled_event_for_the_job() -> None:
    result = CliRunner().invoke(
        cli, ["event", "tmp-images", "--config", CONFIG, "--region", REGION]
    )
    event = json.loads(result.stdout)
    assert event["detail-type"] == "Scheduled Event" and event["region"] == REGION


def test_unknown_name_lists_what_is_known() -> None:
    result = CliRunner().invoke(cli, ["invoke", "nope", "--config", CONFIG])
    assert result.exit_code == 2
    assert "'nope' is not in the config (known: purge/tmp-images" in result.stderr
