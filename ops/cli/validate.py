"""`ops validate`: render, then run cfn-lint on the template and print its findings."""

from __future__ import annotations

import click

from ops.aws import check_region
from ops.cli.context import OpsContext, config_option, pass_ops
from ops.errors import OpsError
from ops.lint import lint_template
from ops.models.lifecycle import suggestions
from ops.models.user_function import secret_warnings
from ops.render import render


@click.command("validate")
@config_option
@click.option("--region", "regions", multiple=True, help="Regions to lint for (repeatable).")
@pass_ops
def command(ops: OpsContext, regions: tuple[str, ...]) -> None:
    """Check the config and lint the rendered template with cfn-lint."""
    for region in regions:
        check_region(region)  # before cfn-lint, whose own refusal lists every region it knows
    config = ops.config()
    for warning in secret_warnings(config.function):
        click.echo(f"Warning: {config.source}: {warning}", err=True)
    findings = lint_template(render(config), list(regions) or None)
    for line in suggestions(config.purge):
        click.echo(f"note: {line}", err=True)
    for finding in findings:
        click.echo(finding, err=True)
    if findings:
        raise OpsError(f"cfn-lint found {len(findings)} problem(s) in the rendered template")
    click.echo("ok: the config is valid and cfn-lint reports nothing", err=True)
