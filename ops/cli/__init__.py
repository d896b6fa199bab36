"""The `ops` command line: parses, wires and prints; the work happens in the rest of `ops/`.

Every command lives in its own module here and is listed in `COMMANDS`. Errors that users
can act on (`OpsError`, expected AWS errors) become `Error: ...` lines on stderr and a documented
exit code; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ops import __version__
from ops.cli.context import OpsContext
from ops.errors import OpsError

# Commands load on first use (click's lazy-group pattern), so `ops render` never pays for the
# boto3 and cfn-lint imports of the commands that talk to AWS. Add a command here: name -> module
# under ops.cli exposing `command`.
COMMANDS = {
    "render": "render",
    "validate": "validate",
    "invoke": "invoke",
    "event": "event",
    "push": "push",
    "apply": "apply",
    "plan": "plan",
    "status": "status",
    "destroy": "destroy",
}


class OpsGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"ops.cli.{COMMANDS[cmd_name]}")
        command: click.Command = module.command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpsError as exc:
            if _debug(ctx):
                raise
            for line in exc.message.splitlines():
                click.echo(f"Error: {line}", err=True)
            ctx.exit(exc.exit_code)
        except Exception as exc:
            described = _aws_error(exc)
            if described is None or _debug(ctx):
                raise
            message, code = described
            click.echo(f"Error: {message}", err=True)
            ctx.exit(code)


def _debug(ctx: click.Context) -> bool:
    return isinstance(ctx.obj, OpsContext) and ctx.obj.debug


def _aws_error(exc: Exception) -> tuple[str, int] | None:
    """(one line, exit code) for errors AWS or the network gave us; None for our own bugs."""
    try:
        from ops.aws import describe_aws_error
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    return describe_aws_error(exc)


@click.group(cls=OpsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="ops")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Housekeeping Lambdas for an AWS estate, from one config file."""
    ctx.obj = OpsContext(debug=debug)


def main() -> None:
    sys.exit(cli.main(prog_name="ops"))
