"""The wiring the stack commands share (`ops apply/plan/destroy` and any command that works on
the deployed stack region by region): the console, the question before a change, the deployer
of a region, and the run over regions that ends in the summary and the exit code.

It only parses, wires and prints: the work is in `ops.deploy`, which never imports click.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ops.cli.context import AwsOptions
from ops.config import Config
from ops.deploy.events import Watcher
from ops.deploy.execute import Clients, Deployer
from ops.deploy.org_run import OrgDeploy
from ops.deploy.summary import Console, RegionResult, region_lines
from ops.errors import UsageError
from ops.terminal import wants_colour

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """`--json` as `as_json`: each region's result and the steps it took, one JSON object a
    line on stdout (the same shape for plan, apply and destroy)."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Each region's result and steps as one JSON object per line on stdout.",
    )(func)


def stderr_console() -> Console:
    return Console(sys.stderr, tty=sys.stderr.isatty(), colour=wants_colour(sys.stderr))


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
    """The deployer of `region`: its clients from --profile/--endpoint-url, events on stderr."""
    target = aws.target(region)
    clients = Clients(target.client("cloudformation"), factory=target.client)
    console = stderr_console()
    return Deployer(
        clients, region, console, Watcher(console, timeout), confirm, endpoint_url=aws.endpoint_url
    )


def org_deploy(
    config: Config,
    aws: AwsOptions,
    timeout: int = 3600,
    confirm: Callable[[str], bool] = lambda _q: True,
) -> OrgDeploy:
    """`--org`: the stack set of `[targets]`, worked on from the one region given (or the
    default region): where the stack set lives, not where its instances go."""
    regions = aws.resolved_regions()
    if len(regions) > 1:
        raise UsageError(
            "--org works on the stack set in one region (the administrator region); the "
            "regions its instances go to are targets.region_order: pass one --region at most"
        )
    return OrgDeploy(
        config,
        regions[0],
        lambda service, region: aws.target(region).client(service),
        stderr_console(),
        confirm,
        timeout=timeout,
        endpoint_url=aws.endpoint_url,
    )


def run_regions(
    ordered: list[str], step: Callable[[str], RegionResult], as_json: bool = False
) -> None:
    """`step` for each region in order, stopping at the first that fails (later regions may
    depend on it); then the summary and the exit code. With `as_json`, each region's result
    on stdout as it ends."""
    results: list[RegionResult] = []
    for region in ordered:
        results.append(step(region))
        if as_json:
            click.echo(json.dumps(results[-1].to_dict(), sort_keys=True))
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
