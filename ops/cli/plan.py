"""`ops plan`: the steps `ops apply` (or, with --destroy, `ops destroy`) would take, shown by a
display-only executor; the change set it needs is summarised, then deleted, never executed."""

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
from ops.cli.lifecycle import lifecycle_rules
from ops.cli.org import plan_org, refuse_with_org
from ops.cli.wiring import deployer, json_option, run_regions
from ops.deploy.plan import apply_order, destroy_order, load_parameters
from ops.deploy.request import StackRequest
from ops.errors import UsageError


@click.command("plan")
@config_option
@regions_option("plan for")
@target_options
@timeout_option
@parameters_option
@click.option("--destroy", is_flag=True, help="Show what ops destroy would do instead.")
@click.option("--org", is_flag=True, help="What ops apply --org would do to the stack set.")
@json_option
@pass_ops
def command(
    ops: OpsContext,
    timeout: int,
    parameters_file: str | None,
    destroy: bool,
    org: bool,
    as_json: bool,
) -> None:
    """Show what ops apply would change (add / modify / remove, replacements flagged).

    It is the list of steps apply (or destroy) performs, in the same region order. With
    --org: the stack set steps of ops apply --org (create, update, add instances, or none).
    """
    if org:
        refuse_with_org(parameters=parameters_file, destroy=destroy)
        plan_org(ops, as_json)
        return
    config = ops.config()
    requested = ops.aws.resolved_regions()
    if destroy:
        if parameters_file:
            raise UsageError("--parameters goes with a plan of ops apply, not with --destroy")
        stack = config.stack.name
        ordered = destroy_order(config, requested)
        lifecycle_rules(ops, config, ordered[-1], removing=True, as_json=as_json)
        run_regions(
            ordered, lambda region: deployer(region, ops.aws, timeout).plan_destroy(stack), as_json
        )
        return
    parameters = load_parameters(parameters_file) if parameters_file else {}
    lifecycle_rules(ops, config, apply_order(config, requested)[0], as_json=as_json)
    run_regions(
        apply_order(config, requested),
        lambda region: deployer(region, ops.aws, timeout).plan(
            StackRequest.from_config(config, region, parameters)
        ),
        as_json,
    )
