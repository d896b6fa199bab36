"""`ops drift`: CloudFormation drift detection of the stack, the deployer's changes set apart."""

from __future__ import annotations

import json

import click

from ops.cli.context import (
    OpsContext,
    config_option,
    pass_ops,
    regions_option,
    target_options,
    timeout_option,
)
from ops.operate.drift import as_dict, detect, drift_lines


@click.command("drift")
@config_option
@regions_option("check")
@target_options
@timeout_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per region on stdout.")
@pass_ops
def command(ops: OpsContext, timeout: int, as_json: bool) -> None:
    """Detect drift of the stack from its template, per resource and property.

    The deployer's own changes (function code, stage alias targets and records) are shown as
    expected. Exits 1 when anything else drifted, 2 when the stack does not exist.
    """
    stack = ops.config().stack.name
    drifted = False
    for region in ops.aws.resolved_regions():
        cfn = ops.aws.target(region).client("cloudformation")
        click.echo(f"Detecting drift of {stack} in {region}...", err=True)
        result = detect(cfn, stack, region, timeout=timeout)
        drifted = drifted or result.drifted
        if as_json:
            click.echo(json.dumps(as_dict(result), sort_keys=True))
        else:
            click.echo("\n".join(drift_lines(result)))
    if drifted:
        click.get_current_context().exit(1)
