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
from ops.terminal import wants_colour

# Commands load on first use (click's lazy-group pattern): `ops render` never pays for the boto3
# imports of the commands that talk to AWS, and `ops --help` lists every command from this table
# without importing one. Add a command here: name -> (module under ops.cli exposing `command`,
# the first line of its docstring; tests/test_cli_errors.py checks that the two agree).
COMMANDS = {
    "render": ("render", "Write the CloudFormation template for the config to stdout."),
    "build": (
        "build",
        "Build the zips of the config's [[function]]s (all, or NAMES) for Lambda's platform.",
    ),
    "validate": ("validate", "Check the config and lint the rendered template with cfn-lint."),
    "invoke": ("invoke", "Run the function of job NAME locally with a realistic Lambda context."),
    "event": ("event", "Print a sample event for job NAME's trigger."),
    "push": (
        "push",
        "Upload FUNCTION's code to <prefix><STAGE>/FUNCTION.zip in the deploy bucket.",
    ),
    "apply": ("apply", "Deploy the stack: bootstrap, upload code, change set, execute, watch."),
    "plan": (
        "plan",
        "Show what ops apply would change (add / modify / remove, replacements flagged).",
    ),
    "status": (
        "status",
        "Report the stack: status, last operation, outputs, functions with their aliases.",
    ),
    "destroy": (
        "destroy",
        "Delete the stack (its functions, roles, queues...).",
    ),
    "drift": ("drift", "Detect drift of the stack from its template, per resource and property."),
    "logs": ("logs", "Print the log lines of jobs or families, interleaved by timestamp."),
    "rollback": (
        "rollback",
        "Move FUNCTION's stage alias back to the version the deployer recorded as previous.",
    ),
    "report": (
        "report",
        "What every job did: runs, failures, deleted / kept / skipped, actions, the last error.",
    ),
}


class OpsGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"ops.cli.{COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `ops --help`, from `COMMANDS` (importing none of them)."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpsError as exc:
            if _debug(ctx):
                raise
            for line in exc.message.splitlines():
                _error(line)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own: --help, usage errors, Ctrl-C (no AWS error to describe)
        except Exception as exc:
            described = _aws_error(exc)
            if described is None or _debug(ctx):
                raise
            message, code = described
            _error(message)
            ctx.exit(code)


def _error(line: str) -> None:
    """`Error: ...` on stderr, its label red on a terminal unless NO_COLOR is set."""
    colour = wants_colour(sys.stderr)
    label = click.style("Error:", fg="red", bold=True) if colour else "Error:"
    click.echo(f"{label} {line}", err=True, color=colour)


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
