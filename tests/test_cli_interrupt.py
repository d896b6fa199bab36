"""Ctrl-C during `ops apply`: exit 130 and one line saying what was left behind in AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ops.aws import _session
from ops.cli import cli
from ops.deploy.execute import Deployer
from ops.deploy.run import Run
from ops.errors import EXIT_INTERRUPTED
from tests.configs import one_job


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _session.cache_clear()
    path = tmp_path / "ops.toml"
    path.write_text(one_job("ctrl-c-ops"))
    monkeypatch.setenv("OPS_CONFIG", str(path))
    return path


def test_ctrl_c_once_the_change_set_exists_says_what_is_left(
    config: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Run._wait_for_change_set

    def then_ctrl_c(self: Run, change_set_id: str) -> Any:
        original(self, change_set_id)
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C here

    monkeypatch.setattr(Run, "_wait_for_change_set", then_ctrl_c)
    result = CliRunner().invoke(
        cli, ["apply", "--yes", "--region", "eu-west-1", "--endpoint-url", moto_endpoint]
    )
    assert result.exit_code == EXIT_INTERRUPTED
    assert "Traceback" not in result.stderr and "Aborted!" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert result.stderr.splitlines()[-1] == error
    cfn = boto3.client("cloudformation", region_name="eu-west-1", endpoint_url=moto_endpoint)
    [change_set] = cfn.list_change_sets(StackName="ctrl-c-ops")["Summaries"]
    assert error == (
        "Error: interrupted: ctrl-c-ops in eu-west-1 is REVIEW_IN_PROGRESS (an empty stack made "
        f"for its first change set, nothing deployed yet); change set "
        f"{change_set['ChangeSetName']} is CREATE_COMPLETE, not executed. See ops status "
        "--region eu-west-1; ops apply --region eu-west-1 again takes over from there (or ops "
        "destroy --region eu-west-1 removes the empty stack)"
    )


def test_ctrl_c_before_anything_exists_says_nothing_was_deployed(
    config: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ctrl_c(self: Deployer, request: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(Deployer, "apply", ctrl_c)
    result = CliRunner().invoke(
        cli, ["apply", "--yes", "--region", "eu-west-2", "--endpoint-url", moto_endpoint]
    )
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.stderr.splitlines() == [
        "Error: interrupted: ctrl-c-ops does not exist in eu-west-2; nothing was deployed there"
    ]


def test_ctrl_c_at_the_question_is_reported_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """click turns Ctrl-C in a prompt into Abort ("Aborted!", exit 1); apply makes it an
    interrupt again, so the change set it leaves is reported like any other."""
    import click

    from ops.cli import wiring

    def ctrl_c(*_args: Any, **_kwargs: Any) -> bool:
        raise click.Abort

    monkeypatch.setattr(wiring.click, "confirm", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        wiring._ask("Execute these changes?")
