"""`ops render`: the CloudFormation template on stdout, nothing else there."""

from __future__ import annotations

import click

from ops.cli.context import OpsContext, config_option, pass_ops
from ops.render import render


@click.command("render")
@config_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True
)
@click.option("--region", help="Render the stack for this region (where a family needs it).")
@pass_ops
def command(ops: OpsContext, fmt: str, region: str | None) -> None:
    """Write the CloudFormation template for the config to stdout."""
    click.echo(render(ops.config(), fmt, region=region), nl=False)  # type: ignore[arg-type]
