"""`ops logs`: one or more functions' log lines, interleaved by timestamp; `--follow` tails."""

from __future__ import annotations

import sys
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
from ops.errors import UsageError
from ops.operate import tail


@click.command("logs")
@click.argument("names", nargs=-1)
@config_option
@regions_option("read from (one)")
@target_options
@since_option("1h")
@click.option("--all", "every", is_flag=True, help="Every function of the stack.")
@click.option("--filter", "pattern", default="", help="CloudWatch Logs filter pattern.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@pass_ops
def command(
    ops: OpsContext, names: tuple[str, ...], since: int, every: bool, pattern: str, follow: bool
) -> None:
    """Print the log lines of jobs or families, interleaved by timestamp.

    Each line starts with its time (UTC) and the function's name. With --follow, new lines are
    printed as they arrive until Ctrl-C, which exits 0.
    """
    config = ops.config()
    regions = ops.aws.resolved_regions()
    if len(regions) > 1:
        raise UsageError("ops logs reads one region: pass --region once")
    region = regions[0]
    functions = tail.select(config, region, names, every)
    logs = ops.aws.target(region).client("logs")
    start = int(time.time() * 1000) - since * 1000
    warn = lambda m: click.echo(f"Warning: {m}", err=True)  # noqa: E731
    lines = (
        tail.follow(logs, functions, start, pattern, warn=warn)
        if follow
        else iter(tail.read(logs, functions, start, int(time.time() * 1000), pattern, warn))
    )
    try:
        for line in lines:
            click.echo(tail.format_line(line))
    except KeyboardInterrupt:
        sys.stdout.flush()  # Ctrl-C ends a follow: that is how it is meant to end
