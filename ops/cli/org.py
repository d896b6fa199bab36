"""`--org` of `ops apply`, `ops plan`, `ops status` and `ops destroy`: the stack set of `[targets]`
(ops.deploy.org_run does the work; this module only wires and prints)."""

from __future__ import annotations

import json

import click

from ops.cli.context import OpsContext
from ops.cli.wiring import confirmer, org_deploy
from ops.deploy.org_run import instance_line
from ops.errors import UsageError

ORG_HELP = "Deploy to [targets]' accounts and regions as one CloudFormation stack set."


def refuse_with_org(**given: object) -> None:
    """Options of the one-account stack that a stack set has no use for."""
    for option, value in given.items():
        if value:
            name = option.replace("_", "-")
            raise UsageError(f"--{name} is for one account's stack; it does not go with --org")


def apply_org(ops: OpsContext, yes: bool, timeout: int, as_json: bool) -> None:
    confirm = confirmer(yes, "apply --org")
    deploy = org_deploy(ops.config(), ops.aws, timeout, confirm)
    deploy.apply()
    if as_json:
        click.echo(json.dumps(deploy.report, sort_keys=True))


def plan_org(ops: OpsContext, as_json: bool) -> None:
    deploy = org_deploy(ops.config(), ops.aws)
    deploy.show_plan()
    if as_json:
        click.echo(json.dumps(deploy.report, sort_keys=True))


def status_org(ops: OpsContext, as_json: bool) -> None:
    for instance in org_deploy(ops.config(), ops.aws).status():
        click.echo(json.dumps(instance, sort_keys=True) if as_json else instance_line(instance))


def destroy_org(ops: OpsContext, yes: bool, timeout: int, as_json: bool) -> None:
    confirm = confirmer(yes, "destroy --org")
    deploy = org_deploy(ops.config(), ops.aws, timeout, confirm)
    deploy.destroy()
    if as_json:
        click.echo(json.dumps(deploy.report, sort_keys=True))
