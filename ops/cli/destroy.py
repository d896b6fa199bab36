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
from ops.cli.lifecycle import lifecycle_rules
from ops.cli.org import destroy_org
from ops.cli.wiring import confirmer, deployer, json_option, run_regions
from ops.deploy.plan import destroy_order


@click.command("destroy")
@config_option
@regions_option("delete from")
@target_options
@yes_option
@timeout_option
@click.option("--org", is_flag=True, help="Remove the stack set's instances, then the stack set.")
@json_option
@pass_ops
def command(ops: OpsContext, yes: bool, timeout: int, org: bool, as_json: bool) -> None:
    """Delete the stack (its functions, roles, queues...). The artifact bucket is kept.

    Regions go in the reverse of apply's order: the asked-for regions, then the deployer's
    replica regions (their stacks are removed too). Review it first with ops plan --destroy.
    With --org: every instance of the stack set, then the set; the artifact buckets are kept.
    """
    if org:
        destroy_org(ops, yes, timeout, as_json)
        return
    confirm = confirmer(yes, "destroy")
    config = ops.config()
    stack = config.stack.name
    ordered = destroy_order(config, ops.aws.resolved_regions())
    lifecycle_rules(ops, config, ordered[-1], confirm=confirm, removing=True, as_json=as_json)
    run_regions(
        ordered, lambda region: deployer(region, ops.aws, timeout, confirm).destroy(stack), as_json
    )
