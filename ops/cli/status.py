"""`ops status`: the deployed stack in a region - status, outputs, functions and aliases."""

from __future__ import annotations

import json

import click

from ops.cli.context import OpsContext, config_option, pass_ops, regions_option, target_options
from ops.cli.org import status_org
from ops.deploy.plan import read_stack
from ops.deploy.status import StackReport, report_lines, stack_report
from ops.errors import OpsError


@click.command("status")
@config_option
@regions_option("report on")
@target_options
@click.option("--org", is_flag=True, help="The stack set's instances: status and drift status.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per region on stdout.")
@pass_ops
def command(ops: OpsContext, org: bool, as_json: bool) -> None:
    """Report the stack: status, last operation, outputs, functions with their aliases.

    Exits 1 when the stack is missing in a region (after reporting every region asked for).
    With --org: one line (or JSON object) per stack set instance; exits 1 without a stack set.
    """
    if org:
        status_org(ops, as_json)
        return
    stack = ops.config().stack.name
    missing = []
    for region in ops.aws.resolved_regions():
        report = _report(ops, stack, region)
        if report is None:
            missing.append(region)
        if as_json:
            data = {"stack": stack, "region": region, "exists": False, "status": None}
            if report is not None:
                data = {**report.to_dict(), "exists": True}
            click.echo(json.dumps(data, sort_keys=True, default=str))
        elif report is not None:
            click.echo("\n".join(report_lines(report)))
    if missing:
        where = " ".join(f"--region {r}" for r in missing)
        regions = ", ".join(missing)
        raise OpsError(f"stack {stack} does not exist in {regions}: run ops apply {where}")


def _report(ops: OpsContext, stack: str, region: str) -> StackReport | None:
    """The region's report, or None when the stack is not there."""
    target = ops.aws.target(region)
    cfn = target.client("cloudformation")
    if not read_stack(cfn, stack, region).exists:
        return None
    return stack_report(cfn, target.client("lambda"), stack, region)
