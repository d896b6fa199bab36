"""The typed object every command receives, and the options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ops import CONFIG_ENV
from ops.aws import AwsTarget, check_credentials, check_endpoint, resolve_region

if TYPE_CHECKING:
    from ops.config import Config

F = TypeVar("F", bound=Callable[..., Any])
ENDPOINT_HELP = "Send every AWS call to this endpoint (a local moto server, for example)."
DEFAULT_TIMEOUT = 3600  # seconds; CloudFormation's own operations rarely take longer here


@dataclass
class AwsOptions:
    """Where a command's AWS calls go: `--region` (repeatable), `--profile`, `--endpoint-url`."""

    regions: tuple[str, ...] = ()
    profile: str | None = None
    endpoint_url: str | None = None

    def target(self, region: str | None) -> AwsTarget:
        return AwsTarget(region=region, profile=self.profile, endpoint_url=self.endpoint_url)

    def resolved_regions(self, *, credentials: bool = True) -> list[str]:
        """--region (each), or the default region; every one checked, with the endpoint URL
        and (unless told otherwise) the credentials, before any AWS call."""
        check_endpoint(self.endpoint_url)
        regions = list(self.regions) or [resolve_region(None, self.profile, self.endpoint_url)]
        for region in regions:
            resolve_region(region, self.profile, self.endpoint_url)
        if credentials:
            check_credentials(self.profile)
        return regions


@dataclass
class OpsContext:
    debug: bool = False
    config_path: str | None = None
    aws: AwsOptions = field(default_factory=AwsOptions)
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        if self._config is None:
            from ops.config import load_config  # on first use: `ops --help` needs no config

            self._config = load_config(self.config_path)
        return self._config


pass_ops = click.make_pass_decorator(OpsContext, ensure=True)


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.ensure_object(OpsContext).config_path = value


def config_option(func: F) -> F:
    """`--config PATH` (or $OPS_CONFIG; default ./ops.toml)."""
    return click.option(
        "--config",
        "config_path",
        envvar=CONFIG_ENV,
        type=click.Path(dir_okay=False),
        help=f"Config file (default ./ops.toml, or ${CONFIG_ENV}).",
        callback=_remember_config,
        expose_value=False,
        is_eager=True,
    )(func)


def endpoint_option(func: F) -> F:
    return click.option(
        "--endpoint-url",
        help=ENDPOINT_HELP,
    )(func)


def _remember_aws(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    assert param.name is not None
    setattr(ctx.ensure_object(OpsContext).aws, param.name, value)


def target_options(func: F) -> F:
    """--profile and --endpoint-url, as every AWS-facing command takes them: read them from
    `OpsContext.aws`."""
    func = click.option(
        "--endpoint-url",
        "endpoint_url",
        help=ENDPOINT_HELP,
        callback=_remember_aws,
        expose_value=False,
    )(func)
    return click.option(
        "--profile",
        "profile",
        help="AWS profile (default: the environment's).",
        callback=_remember_aws,
        expose_value=False,
    )(func)


def regions_option(purpose: str) -> Callable[[F], F]:
    """`--region R`, repeatable, into `OpsContext.aws.regions`; the help reads "Region to
    <purpose> (repeatable)"."""

    def decorate(func: F) -> F:
        return click.option(
            "--region",
            "regions",
            multiple=True,
            help=f"Region to {purpose} (repeatable).",
            callback=_remember_aws,
            expose_value=False,
        )(func)

    return decorate


def timeout_option(func: F) -> F:
    return click.option(
        "--timeout",
        type=click.IntRange(min=1),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds to watch before exiting with code 3 (CloudFormation keeps working).",
    )(func)


def yes_option(func: F) -> F:
    return click.option("--yes", is_flag=True, help="Do not ask; required without a terminal.")(
        func
    )


def parameters_option(func: F) -> F:
    """`--parameters FILE` as `parameters_file`: template parameter values (JSON or TOML)."""
    return click.option(
        "--parameters",
        "parameters_file",
        type=click.Path(dir_okay=False),
        help="JSON or TOML file of template parameter values.",
    )(func)


class DurationType(click.ParamType):
    """`30s`, `15m`, `1h`, `7d` (the config's durations) as whole seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        from ops.schema import Duration

        try:
            return int(Duration.parse(str(value)))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def since_option(default: str) -> Callable[[F], F]:
    """`--since DURATION` as `since` (seconds): how far back from now to read."""
    return click.option(
        "--since",
        type=DurationType(),
        default=default,
        show_default=True,
        help="How far back to read: 30s, 15m, 1h, 7d.",
    )
