"""`ops event NAME`: a sample event of the job's trigger, to edit and pass to `ops invoke`."""

from __future__ import annotations

import json
import os

import click

from ops.cli.context import OpsContext, config_option, pass_ops
from ops.events import sample_event


@click.command("event")
@click.argument("name")
@config_option
@click.option("--region", help="Region to put in the event (default: $AWS_REGION).")
@pass_ops
def command(ops: OpsContext, name: str, region: str | None) -> None:
    """Print a sample event for job NAME's trigger."""
    region = region or os.environ.get("AWS_REGION") or "us-east-1"
    event = sample_event(ops.config(), name, region)
    click.echo(json.dumps(event, indent=2, sort_keys=True))
