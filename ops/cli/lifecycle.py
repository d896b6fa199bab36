"""The lifecycle rules of `mode = "lifecycle"` purge jobs, as `ops apply`, `ops plan` and
`ops destroy` handle them before the stack's regions: the rule diff on stderr (and, with
--json, one line `{"lifecycle": [...]}` on stdout), the question, the write.

A bucket has one lifecycle configuration whatever the region, so this runs once, with the
first region's clients (S3 follows a bucket in another region itself). A config without
lifecycle jobs makes no call here.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from ops.cli.context import OpsContext
from ops.config import Config
from ops.deploy.bootstrap import account_id
from ops.deploy.lifecycle import Buckets, change_lines, plan_buckets, wanted_rules


def lifecycle_rules(
    ops: OpsContext,
    config: Config,
    region: str,
    *,
    confirm: Callable[[str], bool] | None = None,
    removing: bool = False,
    as_json: bool = False,
) -> None:
    """Show the buckets' rule diff; with `confirm` (apply, destroy), ask and write it."""
    if not wanted_rules(config):
        return
    target = ops.aws.target(region)
    buckets = Buckets(target.client("s3"), account_id(target.client("sts")), config.stack.name)
    plans = plan_buckets(buckets, config, removing=removing)
    for line in change_lines(plans):
        click.echo(line, err=True)
    if as_json:
        click.echo(json.dumps({"lifecycle": [p.to_dict() for p in plans]}, sort_keys=True))
    changed = [p for p in plans if p.changed]
    if confirm is None or not changed:
        return
    names = ", ".join(p.bucket for p in changed)
    if not confirm(f"Write these lifecycle rules to {names}?"):
        click.echo("Lifecycle rules: nothing was written", err=True)
        return
    for plan in changed:
        buckets.write(plan)
        click.echo(f"Lifecycle rules of bucket {plan.bucket}: written", err=True)
