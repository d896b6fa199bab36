"""`ops render`: the CloudFormation template on stdout, nothing else there."""

from __future__ import annotations

import click

from ops.cli.context import OpsContext, config_option, pass_ops
from ops.config import Config
from ops.render import render
from ops.schedule import explain


@click.command("render")
@config_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True
)
@click.option("--region", help="Render the stack for this region (where a family needs it).")
@click.option("--explain", is_flag=True, help="Say on stderr when each scheduled job runs.")
@pass_ops
def command(ops: OpsContext, fmt: str, region: str | None, explain: bool) -> None:
    """Write the CloudFormation template for the config to stdout."""
    config = ops.config()
    if explain:
        for line in schedule_lines(config):
            click.echo(line, err=True)
    click.echo(render(config, fmt, region=region), nl=False)  # type: ignore[arg-type]


def schedule_lines(config: Config) -> list[str]:
    """`purge/tmp-images: every hour (UTC)` for every item that runs on a schedule."""
    return [
        f"{section.family}/{item.name}: {explain(item.schedule, getattr(item, 'timezone', None))}"
        for section, item in config.items()
        if getattr(item, "schedule", None)
    ]
