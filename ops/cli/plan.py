"""`ops plan`: the change set `ops apply` would execute, summarised; then deleted, not executed."""

from __future__ import annotations

import click

from ops.cli.apply import (
    deployer,
    finish,
    resolve_regions,
    stack_request,
    target_options,
    timeout_option,
)
from ops.cli.context import OpsContext, config_option, pass_ops
from ops.deploy.plan import deploy_regions, load_parameters


@click.command("plan")
@config_option
@click.option("--region", "regions", multiple=True, help="Region to plan for (repeatable).")
@target_options
@timeout_option
@click.option(
    "--parameters",
    "parameters_file",
    type=click.Path(dir_okay=False),
    help="JSON or TOML file of template parameter values.",
)
@pass_ops
def command(
    ops: OpsContext,
    regions: tuple[str, ...],
    profile: str | None,
    endpoint_url: str | None,
    timeout: int,
    parameters_file: str | None,
) -> None:
    """Show what ops apply would change (add / modify / remove, replacements flagged)."""
    config = ops.config()
    parameters = load_parameters(parameters_file) if parameters_file else {}
    ordered = deploy_regions(config, resolve_regions(regions, profile))
    results = []
    for region in ordered:
        request = stack_request(config, region, parameters)
        results.append(deployer(region, profile, endpoint_url, timeout).plan(request))
        if results[-1].exit_code:
            break
    finish(results, ordered)
