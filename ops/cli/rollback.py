"""`ops rollback`: a stage alias back to the deployer's recorded previous version, every region."""

from __future__ import annotations

import click

from ops.cli.context import OpsContext, config_option, pass_ops, regions_option, target_options
from ops.models.deployer import deploy_regions
from ops.operate import rollback
from ops.push import check_push, resolve_function


@click.command("rollback")
@click.argument("function")
@click.option("--stage", required=True, help="The stage whose alias moves back.")
@config_option
@regions_option("roll back in (default: every deployer region)")
@target_options
@pass_ops
def command(ops: OpsContext, function: str, stage: str) -> None:
    """Move FUNCTION's stage alias back to the version the deployer recorded as previous.

    Every region is checked first; if one cannot roll back (no record, no previous version),
    nothing changes anywhere. Running it again changes nothing.
    """
    config = ops.config()
    name, _build = resolve_function(config, function)
    check_push(config, name, stage)
    regions = list(ops.aws.regions) or deploy_regions(config)
    ops.aws.regions = tuple(regions)
    regions = ops.aws.resolved_regions()

    def clients(region: str) -> object:
        return ops.aws.target(region).client("lambda")

    steps = rollback.plan(clients, regions, name, stage)
    rollback.execute(clients, steps)
    for step in steps:
        click.echo(step.line())
