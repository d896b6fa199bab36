"""`ops invoke NAME`: run a function locally; its result on stdout, its logs on stderr."""

from __future__ import annotations

import json
from typing import Any

import click

from ops.aws import check_endpoint, local_region
from ops.cli.context import OpsContext, config_option, endpoint_option, pass_ops
from ops.cli.event import account_option
from ops.errors import UsageError
from ops.events import sample_event
from ops.invoke import FunctionError, function_definition, invoke_local


@click.command("invoke")
@click.argument("name")
@config_option
@click.option("--event", "event_file", type=click.File("r"), help="Event JSON file ('-': stdin).")
@click.option(
    "--region",
    help="Region the function runs in (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's).",
)
@endpoint_option
@account_option
@click.option("--env", "env_pairs", multiple=True, metavar="KEY=VALUE", help="Extra variables.")
@pass_ops
def command(
    ops: OpsContext,
    name: str,
    event_file: Any,
    region: str | None,
    endpoint_url: str | None,
    account: str | None,
    env_pairs: tuple[str, ...],
) -> None:
    """Run the function of job NAME locally with a realistic Lambda context.

    Without --event it gets the sample event `ops event NAME` prints.
    """
    config = ops.config()
    check_endpoint(endpoint_url)
    region, warning = local_region(region, endpoint_url)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    extra = dict(_pair(p) for p in env_pairs)
    definition = function_definition(config, name)
    missing = [v for v in definition.unresolved if v not in extra]
    if missing:
        click.echo(f"warning: set with --env (CloudFormation computes them): {missing}", err=True)
    event = _read_event(event_file) if event_file else sample_event(config, name, region, account)
    try:
        result = invoke_local(
            definition, event, region=region, endpoint_url=endpoint_url, extra_env=extra
        )
    except FunctionError as failed:
        click.echo(json.dumps(failed.payload, indent=2, sort_keys=True))  # as Lambda answers
        raise
    click.echo(json.dumps(result, indent=2, sort_keys=True, default=str))


def _read_event(event_file: Any) -> Any:
    """The event JSON, or a usage error naming the file and where its JSON breaks."""
    try:
        return json.load(event_file)
    except json.JSONDecodeError as bad:
        where = getattr(event_file, "name", "-")
        raise UsageError(
            f"--event {where}: not JSON at line {bad.lineno} column {bad.colno}: {bad.msg}"
        ) from None
    except UnicodeDecodeError as bad:
        where = getattr(event_file, "name", "-")
        raise UsageError(f"--event {where}: not UTF-8 text ({bad.reason})") from None


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--env takes KEY=VALUE, got {text!r}")
    return key, value
