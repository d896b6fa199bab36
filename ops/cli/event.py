"""`ops event NAME`: a sample event of the job's trigger, to edit and pass to `ops invoke`."""

from __future__ import annotations

import json
import re

import click

from ops.aws import local_region
from ops.cli.context import F, OpsContext, config_option, pass_ops
from ops.errors import UsageError
from ops.naming import LOCAL_ACCOUNT

ACCOUNT_ENV = "AWS_ACCOUNT_ID"  # botocore's own name for it (account-based endpoints)


def account_option(func: F) -> F:
    """`--account ID` (or $AWS_ACCOUNT_ID): the account a sample event names."""
    return click.option(
        "--account",
        envvar=ACCOUNT_ENV,
        callback=_check_account,
        help=f"Account id to put in the event (or ${ACCOUNT_ENV}; default {LOCAL_ACCOUNT}).",
    )(func)


def _check_account(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{12}", value):
        raise UsageError(
            f"--account (or ${ACCOUNT_ENV}) takes a 12-digit account id, got {value!r}"
        )
    return value


@click.command("event")
@click.argument("name")
@config_option
@click.option(
    "--region",
    help="Region to put in the event (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's).",
)
@account_option
@pass_ops
def command(ops: OpsContext, name: str, region: str | None, account: str | None) -> None:
    """Print a sample event for job NAME's trigger."""
    from ops.events import sample_event  # not at import: `ops invoke` takes account_option

    region, warning = local_region(region)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    event = sample_event(ops.config(), name, region, account)
    click.echo(json.dumps(event, indent=2, sort_keys=True))
