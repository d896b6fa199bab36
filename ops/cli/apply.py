"""`ops apply`: deploy the stack to one or more regions with a change set; events on stderr."""

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
    yes_option,
)
from ops.cli.lifecycle import lifecycle_rules
from ops.cli.org import ORG_HELP, apply_org, refuse_with_org
from ops.cli.wiring import confirmer, deployer, json_option, run_regions
from ops.deploy.interrupted import interrupted_message
from ops.deploy.plan import apply_order, load_parameters
from ops.deploy.request import StackRequest
from ops.deploy.summary import RegionResult
from ops.errors import Interrupted, UsageError


@click.command("apply")
@config_option
@regions_option("deploy to")
@target_options
@yes_option
@timeout_option
@parameters_option
@click.option(
    "--continue-rollback",
    is_flag=True,
    help="Continue a rollback that failed (stack in UPDATE_ROLLBACK_FAILED) first.",
)
@click.option(
    "--skip-resource",
    "skip",
    multiple=True,
    metavar="LOGICAL_ID",
    help="With --continue-rollback: resources to skip (repeatable).",
)
@click.option("--org", is_flag=True, help=ORG_HELP)
@json_option
@pass_ops
def command(
    ops: OpsContext,
    yes: bool,
    timeout: int,
    parameters_file: str | None,
    continue_rollback: bool,
    skip: tuple[str, ...],
    org: bool,
    as_json: bool,
) -> None:
    """Deploy the stack: bootstrap, upload code, change set, execute, watch.

    Exit codes: 0 done or no changes, 1 failed, 2 usage or config error, 3 timed out while
    CloudFormation was still working, 130 interrupted (Ctrl-C; CloudFormation keeps going).

    With --org: the stack set of [targets] (docs/org.md), from the one --region it lives in.
    """
    if org:
        refuse_with_org(
            parameters=parameters_file, continue_rollback=continue_rollback, skip_resource=skip
        )
        apply_org(ops, yes, timeout, as_json)
        return
    if skip and not continue_rollback:
        raise UsageError("--skip-resource only goes with --continue-rollback")
    confirm = confirmer(yes, "apply")
    config = ops.config()
    parameters = load_parameters(parameters_file) if parameters_file else {}
    ordered = apply_order(config, ops.aws.resolved_regions())
    lifecycle_rules(ops, config, ordered[0], confirm=confirm, as_json=as_json)

    def apply(region: str) -> RegionResult:
        request = StackRequest.from_config(
            config, region, parameters, continue_rollback=continue_rollback, skip_resources=skip
        )
        try:
            return deployer(region, ops.aws, timeout, confirm).apply(request)
        except KeyboardInterrupt:
            cfn = ops.aws.target(region).client("cloudformation")
            raise Interrupted(interrupted_message(cfn, config.stack.name, region)) from None

    run_regions(ordered, apply, as_json)
