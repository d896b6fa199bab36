"""The CLI loads a command's module only to run it: `ops --help` lists every command from
`ops.cli.COMMANDS` without importing one, and without boto3, troposphere or the config loader."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from ops.cli import COMMANDS
from tests.conftest import REGION, ROOT


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_help_is_the_commands_own_first_line(name: str) -> None:
    module, listed = COMMANDS[name]
    command = importlib.import_module(f"ops.cli.{module}").command
    assert command.name == name
    assert listed == command.get_short_help_str(limit=200)


PROBE = """
import json, sys
from click.testing import CliRunner
from ops.cli import cli
result = CliRunner().invoke(cli, sys.argv[1:])
heavy = ("botocore", "boto3", "troposphere", "ops.config", "ops.render", "ops.deploy")
loaded = sorted(m for m in sys.modules if m.startswith(heavy) or m.startswith("ops.cli."))
print(json.dumps({"exit": result.exit_code, "out": result.output, "loaded": loaded}))
"""


def probe(*args: str) -> dict[str, object]:
    # A fresh interpreter: this test process has imported everything already.
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_top_level_help_imports_no_command_and_nothing_heavy() -> None:
    result = probe("--help")
    assert result["exit"] == 0
    assert result["loaded"] == ["ops.cli.context"]
    for name in COMMANDS:
        assert f"  {name} " in str(result["out"])


def test_a_commands_help_loads_that_command_alone_and_no_aws_sdk() -> None:
    result = probe("render", "--help")
    assert result["exit"] == 0
    loaded = [str(m) for m in result["loaded"]]  # type: ignore[attr-defined]
    assert [m for m in loaded if m.startswith("ops.cli.")] == ["ops.cli.context", "ops.cli.render"]
    assert not [m for m in loaded if m.startswith(("botocore", "boto3"))]


# A purge job's run, in a fresh interpreter, against moto in-process. moto imports boto3 (and
# boto3 1.44+ imports s3transfer on import), so what counts is what the run itself loads: the
# modules new after the bucket is made (with a botocore client). boto3's S3 client would load
# boto3.s3.inject; a rendered template, troposphere and awacs.
INVOKE_PROBE = """
import json, sys
import botocore.session
from click.testing import CliRunner
from moto import mock_aws
from ops.cli import cli
region, args = sys.argv[1], sys.argv[2:]
with mock_aws():
    s3 = botocore.session.get_session().create_client("s3", region_name=region)
    s3.create_bucket(Bucket="acme-media", CreateBucketConfiguration={"LocationConstraint": region})
    before = set(sys.modules)
    result = CliRunner().invoke(cli, args)
heavy = ("troposphere", "awacs", "cfn_flip", "templates", "ops.render", "ops.push", "s3transfer")
loaded = sorted(m for m in set(sys.modules) - before if m.startswith((*heavy, "boto3")))
print(json.dumps({"exit": result.exit_code, "out": result.stdout, "loaded": loaded}))
"""


def test_invoking_a_purge_job_renders_nothing_and_imports_no_troposphere_or_awacs() -> None:
    """Its settings come from the model (`templates.jobs`), not from a rendered template, and
    the function's client is botocore's: boto3's would load boto3.s3.inject."""
    args = ["invoke", "tmp-images", "--config", str(ROOT / "ops.toml"), "--region", REGION]
    done = subprocess.run(
        [sys.executable, "-c", INVOKE_PROBE, REGION, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["exit"] == 0, result["out"]
    assert json.loads(result["out"])["status"] == "finished"
    assert result["loaded"] == ["templates", "templates.jobs"]
