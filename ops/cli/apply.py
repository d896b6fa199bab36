"""`ops apply`: deploy the stack to one or more regions with a change set; events on stderr.

Also holds the wiring `ops plan/status/destroy` share (regions, console, the deployer for a
region, the run over regions): this module parses and wires, `ops.deploy` does the work.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ops.cli.context import (
    AwsOptions,
    OpsContext,
    config_option,
    parameters_option,
    pass_ops,
    regions_option,
    target_options,
    timeout_option,
    yes_option,
)
from ops.config import Config
from ops.deploy.events import Watcher
from ops.deploy.execute import Clients, Deployer, StackRequest
from ops.deploy.interrupted import interrupted_message
from ops.deploy.plan import deploy_regions, load_parameters
from ops.deploy.summary import Console, RegionResult, region_lines
from ops.errors import Interrupted, UsageError
from ops.render import render


def resolve_regions(aws: AwsOptions) -> list[str]:
    return aws.resolved_regions()


def stderr_console() -> Console:
    return Console(sys.stderr, tty=sys.stderr.isatty())


def confirmer(yes: bool, command: str) -> Callable[[str], bool]:
    """--yes, or a question on a terminal; without either, refuse before any AWS call."""
    if yes:
        return lambda _question: True
    if not sys.stdin.isatty():
        raise UsageError(
            f"ops {command} asks before changing anything, and there is no terminal to ask on: "
            "pass --yes (review the changes first with ops plan)"
        )
    return _ask


def _ask(question: str) -> bool:
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:  # Ctrl-C (or end of input) at the question: report it as an interrupt
        click.echo("", err=True)
        raise KeyboardInterrupt from None


def deployer(
    region: str,
    aws: AwsOptions,
    timeout: int,
    confirm: Callable[[str], bool] = lambda _q: True,
) -> Deployer:
    target = aws.target(region)
    clients = Clients(target.client("cloudformation"), factory=target.client)
    console = stderr_console()
    return Deployer(
        clients, region, console, Watcher(console, timeout), confirm, endpoint_url=aws.endpoint_url
    )


def stack_request(
    config: Config, region: str, parameters: dict[str, str], **extra: Any
) -> StackRequest:
    stack = config.stack
    protect = (
        stack.production if stack.termination_protection is None else stack.termination_protection
    )
    return StackRequest(
        stack=stack.name,
        template=json.loads(render(config, "json", region=region)),
        tags=dict(stack.tags),
        artifact_bucket=stack.artifact_bucket,
        termination_protection=protect,
        parameters=parameters,
        **extra,
    )


@click.command("apply")
@config_option
@regions_option("deploy to")
@target_options
@yes_option
@timeout_option
@parameters_option
@click.option(
    "--continue-rollback",
    is_flag=True,
    help="Continue a rollback that failed (stack in UPDATE_ROLLBACK_FAILED) first.",
)
@click.option(
    "--skip-resource",
    "skip",
    multiple=True,
    metavar="LOGICAL_ID",
    help="With --continue-rollback: resources to skip (repeatable).",
)
@pass_ops
def command(
    ops: OpsContext,
    yes: bool,
    timeout: int,
    parameters_file: str | None,
    continue_rollback: bool,
    skip: tuple[str, ...],
) -> None:
    """Deploy the stack: bootstrap, upload code, change set, execute, watch.

    Exit codes: 0 done or no changes, 1 failed, 2 usage or config error, 3 timed out while
    CloudFormation was still working, 130 interrupted (Ctrl-C; CloudFormation keeps going).
    """
    if skip and not continue_rollback:
        raise UsageError("--skip-resource only goes with --continue-rollback")
    confirm = confirmer(yes, "apply")
    config = ops.config()
    parameters = load_parameters(parameters_file) if parameters_file else {}
    ordered = deploy_regions(config, resolve_regions(ops.aws))

    def apply(region: str) -> RegionResult:
        request = stack_request(
            config, region, parameters, continue_rollback=continue_rollback, skip_resources=skip
        )
        try:
            return deployer(region, ops.aws, timeout, confirm).apply(request)
        except KeyboardInterrupt:
            cfn = ops.aws.target(region).client("cloudformation")
            raise Interrupted(interrupted_message(cfn, config.stack.name, region)) from None

    run_regions(ordered, apply)


def run_regions(ordered: list[str], step: Callable[[str], RegionResult]) -> None:
    """`step` for each region in order, stopping at the first that fails (later regions may
    depend on it); then the summary and the exit code."""
    results: list[RegionResult] = []
    for region in ordered:
        results.append(step(region))
        if results[-1].exit_code:
            break
    finish(results, ordered)


def finish(results: list[RegionResult], ordered: list[str]) -> None:
    """The per-region summary, then exit with the first failure's code."""
    skipped = ordered[len(results) :]
    for line in region_lines(results, skipped):
        click.echo(line, err=True)
    code = next((r.exit_code for r in results if r.exit_code), 0)
    click.get_current_context().exit(code)
