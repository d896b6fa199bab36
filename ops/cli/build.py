"""`ops build [NAME...]`: build [[function]] zips into the local cache; one JSON line per
function on stdout (name, key, bytes, seconds, cached), nothing uploaded."""

from __future__ import annotations

import json

import click

from ops.build import build
from ops.cli.context import OpsContext, config_option, pass_ops
from ops.errors import UsageError


@click.command("build")
@click.argument("names", nargs=-1)
@config_option
@pass_ops
def command(ops: OpsContext, names: tuple[str, ...]) -> None:
    """Build the zips of the config's [[function]]s (all, or NAMES) for Lambda's platform."""
    config = ops.config()
    known = [fn.name for fn in config.function]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise UsageError(f"no [[function]] {', '.join(unknown)} (known: {', '.join(known)})")
    for index, fn in enumerate(config.function):
        if names and fn.name not in names:
            continue
        built = build(config, fn, index)
        line = {
            "function": fn.name,
            "key": built.key,
            "bytes": built.size,
            "seconds": round(built.seconds, 3),
            "cached": built.cached,
        }
        click.echo(json.dumps(line, sort_keys=True))
