"""`ops destroy`: delete the stack in a region, watch it go, say what could not be deleted."""

from __future__ import annotations

import click

from ops.cli.context import (
    OpsContext,
    config_option,
    pass_ops,
    regions_option,
    target_options,
    timeout_option,
    yes_option,
)
from ops.cli.wiring import confirmer, deployer, run_regions


@click.command("destroy")
@config_option
@regions_option("delete from")
@target_options
@yes_option
@timeout_option
@pass_ops
def command(ops: OpsContext, yes: bool, timeout: int) -> None:
    """Delete the stack (its functions, roles, queues...). The artifact bucket is kept."""
    confirm = confirmer(yes, "destroy")
    stack = ops.config().stack.name
    # The reverse of apply's order: the stacks that depend on others go first.
    ordered = list(reversed(ops.aws.resolved_regions()))
    run_regions(ordered, lambda region: deployer(region, ops.aws, timeout, confirm).destroy(stack))
