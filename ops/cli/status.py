"""`ops status`: the deployed stack in a region - status, outputs, functions and aliases."""

from __future__ import annotations

import json

import click

from ops.cli.apply import resolve_regions
from ops.cli.context import OpsContext, config_option, pass_ops, regions_option, target_options
from ops.deploy.status import report_lines, stack_report


@click.command("status")
@config_option
@regions_option("report on")
@target_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per region on stdout.")
@pass_ops
def command(ops: OpsContext, as_json: bool) -> None:
    """Report the stack: status, last operation, outputs, functions with their aliases."""
    stack = ops.config().stack.name
    for region in resolve_regions(ops.aws):
        target = ops.aws.target(region)
        report = stack_report(
            target.client("cloudformation"), target.client("lambda"), stack, region
        )
        if as_json:
            click.echo(json.dumps(report.to_dict(), sort_keys=True, default=str))
        else:
            click.echo("\n".join(report_lines(report)))
