"""`ops plan`: the change set `ops apply` would execute, summarised; then deleted, not executed."""

from __future__ import annotations

import click

from ops.cli.context import (
    OpsContext,
    config_option,
    parameters_option,
    pass_ops,
    regions_option,
    target_options,
    timeout_option,
)
from ops.cli.wiring import deployer, run_regions
from ops.deploy.plan import deploy_regions, load_parameters
from ops.deploy.request import StackRequest


@click.command("plan")
@config_option
@regions_option("plan for")
@target_options
@timeout_option
@parameters_option
@pass_ops
def command(ops: OpsContext, timeout: int, parameters_file: str | None) -> None:
    """Show what ops apply would change (add / modify / remove, replacements flagged)."""
    config = ops.config()
    parameters = load_parameters(parameters_file) if parameters_file else {}
    ordered = deploy_regions(config, ops.aws.resolved_regions())
    run_regions(
        ordered,
        lambda region: deployer(region, ops.aws, timeout).plan(
            StackRequest.from_config(config, region, parameters)
        ),
    )
