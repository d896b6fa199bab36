"""`ops report`: what every job did in a window, from its report lines (a table or JSON)."""

from __future__ import annotations

import json
import time

import click

from ops.cli.context import (
    OpsContext,
    config_option,
    pass_ops,
    regions_option,
    since_option,
    target_options,
)
from ops.operate.report import region_report, table_lines


@click.command("report")
@config_option
@regions_option("report on")
@target_options
@since_option("7d")
@click.option(
    "--source",
    type=click.Choice(["auto", "insights", "filter"]),
    default="auto",
    show_default=True,
    help="Logs Insights, FilterLogEvents, or Insights falling back to FilterLogEvents.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job on stdout.")
@pass_ops
def command(ops: OpsContext, since: int, source: str, as_json: bool) -> None:
    """What every job did: runs, failures, deleted / kept / skipped, actions, the last error.

    Jobs that need attention come first. Exits 1 when a job had a failed run in the window, 2
    when the stack does not exist in a region.
    """
    config = ops.config()
    regions = ops.aws.resolved_regions()
    end = int(time.time() * 1000)
    window = (end - since * 1000, end)
    failed = False
    for region in regions:
        target = ops.aws.target(region)
        summaries = region_report(
            config,
            region,
            target.client,
            window,
            source=source,
            warn=lambda m: click.echo(f"Warning: {m}", err=True),
        )
        failed = failed or any(s.failed_runs for s in summaries)
        if as_json:
            for s in summaries:
                click.echo(json.dumps({"region": region, **s.as_dict()}, sort_keys=True))
        else:
            click.echo("\n".join(table_lines(summaries, region)))
    if failed:
        click.get_current_context().exit(1)
