"""`ops push FUNCTION --stage STAGE`: upload code for the deployer; the upload on stdout (JSON),
progress on stderr; with --wait, exit 0 only once every region's alias runs it."""

from __future__ import annotations

import json
from typing import Any

import click

from ops.aws import check_credentials, check_endpoint, check_region
from ops.cli.context import OpsContext, config_option, pass_ops, target_options
from ops.errors import EXIT_FAILED, OpsError
from ops.push import (
    RegionClients,
    check_push,
    deployer_of,
    event_of,
    resolve_function,
    upload,
    wait_for,
    wait_regions,
    zip_bytes,
)


class DeployFailed(OpsError):
    exit_code = EXIT_FAILED


@click.command("push")
@click.argument("function")
@config_option
@click.option("--stage", required=True, help="Stage (alias name) to deploy to.")
@click.option("--zip", "zip_path", type=click.Path(dir_okay=False, exists=True), help="A zip.")
@click.option("--dir", "dir_path", type=click.Path(file_okay=False, exists=True), help="A dir.")
@click.option("--region", help="Upload to this region's bucket (default: the primary's).")
@target_options
@click.option("--wait", is_flag=True, help="Wait until the alias runs it in every region.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds.")
@click.option(
    "--event", "event_file", type=click.File("w"), help="Write the S3 event of the upload here."
)
@pass_ops
def command(
    ops: OpsContext,
    function: str,
    stage: str,
    zip_path: str | None,
    dir_path: str | None,
    region: str | None,
    wait: bool,
    timeout: float,
    event_file: Any,
) -> None:
    """Upload FUNCTION's code to <prefix><STAGE>/FUNCTION.zip in the deploy bucket.

    FUNCTION is a Lambda function name on the deployer's allow-list, `deployer` for the
    deployer itself (its code is then ops's own bundle unless --zip/--dir says otherwise), or
    the name of a [[function]] with stages (its code is then its own build).
    """
    config = ops.config()
    deployer = deployer_of(config)
    name, built = resolve_function(config, function)
    check_push(config, name, stage)
    data = zip_bytes(zip_path, dir_path, built)
    where = region or deployer.region
    check_endpoint(ops.aws.endpoint_url)
    check_region(where, ops.aws.endpoint_url)
    check_credentials(ops.aws.profile)

    def clients(r: str) -> RegionClients:
        target = ops.aws.target(r)
        return RegionClients(target.client("lambda"), target.client("s3"))

    pushed = upload(clients(where).s3, deployer, where, name, stage, data)
    click.echo(f"uploaded s3://{pushed.bucket}/{pushed.key} version {pushed.version_id}", err=True)
    if event_file:
        json.dump(event_of(pushed), event_file, indent=2, sort_keys=True)
        event_file.close()
    result: dict[str, Any] = pushed.as_dict()
    states: dict[str, tuple[str, str]] = {}
    if wait:
        regions = {r: clients(r) for r in wait_regions(deployer, pushed)}
        states = wait_for(deployer, pushed, regions, timeout, progress=_progress)
        result["regions"] = {r: {"status": s, "detail": d} for r, (s, d) in states.items()}
    click.echo(json.dumps(result, indent=2, sort_keys=True))
    failed = [f"{r}: {d}" for r, (s, d) in sorted(states.items()) if s != "deployed"]
    if failed:
        raise DeployFailed("the deployer did not deploy the upload: " + "; ".join(failed))


def _progress(line: str) -> None:
    click.echo(line, err=True)
