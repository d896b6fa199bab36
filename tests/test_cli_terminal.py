"""Terminal conventions: colour on a terminal only and never with NO_COLOR, shell completion."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

import ops.cli
from ops.cli import cli
from ops.deploy.summary import GREEN, RED, YELLOW, Console
from ops.terminal import wants_colour


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "no_color", "expected"),
    [(Terminal(), None, True), (Terminal(), "1", False), (io.StringIO(), None, False)],
)
def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, no_color: str | None, expected: bool
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert wants_colour(stream) is expected


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("  + Add     PurgeTmpImagesFunction  AWS::Lambda::Function", GREEN),
        ("  ~ Modify  PurgeTmpImagesRole  AWS::IAM::Role", YELLOW),
        ("  - Remove  OldQueue  AWS::SQS::Queue", RED),
        ("  ~ Modify  DeployBucket  AWS::S3::Bucket  (REPLACED: a new physical resource)", RED),
        ("10:21:34  PurgeTmpImagesRole  AWS::IAM::Role  CREATE_FAILED  denied", RED),
        ("10:21:34  acme-ops  AWS::CloudFormation::Stack  CREATE_COMPLETE", GREEN),
    ],
)
def test_the_console_paints_changes_and_outcomes(line: str, code: str) -> None:
    painted, plain = io.StringIO(), io.StringIO()
    Console(painted, colour=True).line(line)
    Console(plain).line(line)
    assert painted.getvalue() == f"\x1b[{code}m{line}\x1b[0m\n"
    assert plain.getvalue() == f"{line}\n"


def test_other_lines_stay_plain_even_in_colour() -> None:
    out = io.StringIO()
    Console(out, colour=True).line("Changes to stack acme-ops in eu-west-1:")
    assert out.getvalue() == "Changes to stack acme-ops in eu-west-1:\n"


def test_the_error_label_is_red_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops.cli, "wants_colour", lambda stream: True)
    result = CliRunner().invoke(cli, ["render", "--config", "no-such.toml"])
    assert result.exit_code == 2
    assert result.stderr.startswith("\x1b[31m\x1b[1mError:\x1b[0m ")


def test_no_colour_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = CliRunner().invoke(cli, ["render", "--config", "no-such.toml"])
    assert result.stderr.startswith("Error: ") and "\x1b[" not in result.stderr


@pytest.mark.parametrize(
    ("words", "cword", "offered"),
    [("ops ap", "1", "plain,apply"), ("ops apply --re", "2", "plain,--region")],
)
def test_shell_completion_offers_commands_and_options(words: str, cword: str, offered: str) -> None:
    env = {"_OPS_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = CliRunner().invoke(cli, [], env=env, prog_name="ops")
    assert result.exit_code == 0
    assert offered in result.output.splitlines()
