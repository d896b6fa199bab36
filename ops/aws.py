"""boto3 sessions and clients for the CLI: one factory, so every command honours --region,
--profile and --endpoint-url the same way. Only the CLI's commands and `ops.deploy` use it.

It also checks what a command was given before the first AWS call (`check_region`,
`check_endpoint`, `check_credentials`), so a typo is one clear line rather than whatever
botocore or the endpoint makes of it, and remembers the last call each client made
(`LAST_CALL`) so an endpoint's non-AWS answer can be reported with its URL and operation.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from ops.errors import UsageError

# Where the region comes from when --region is not given, in this order (boto3 itself reads
# AWS_DEFAULT_REGION and the profile's `region`, but not AWS_REGION, which Lambda and most SDKs
# set).
REGION_SOURCES = "--region, $AWS_REGION, $AWS_DEFAULT_REGION or the profile's region"
LOCAL_REGION = "us-east-1"  # ops event / ops invoke when no region is set anywhere
MOTO_HINT = "any value works against a local moto server"


@dataclass(frozen=True)
class AwsTarget:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    def session(self) -> Any:
        return _session(self.profile, self.region)

    def client(self, service: str, **config: Any) -> Any:
        from botocore.config import Config

        retries = {"mode": "standard", "max_attempts": 8}
        client = self.session().client(
            service,
            endpoint_url=self.endpoint_url,
            config=Config(retries=retries, **config),
        )
        client.meta.events.register("before-call", _remember_call)
        return client


@cache
def _session(profile: str | None, region: str | None) -> Any:
    """One boto3 session per (profile, region): building one reads the whole botocore data
    path again, so several clients of one command share it (sessions are not thread-safe;
    the CLI is single-threaded)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise UsageError(
            f"no AWS profile {profile!r} in ~/.aws/config or ~/.aws/credentials: "
            "pass an existing --profile, or none to use the environment's credentials"
        ) from None


# ---- the last call, for reporting an endpoint that answers with something not AWS's --------
LAST_CALL: dict[str, str] = {}


def _remember_call(model: Any, params: Any, **_kwargs: Any) -> None:
    LAST_CALL["operation"] = str(getattr(model, "name", "?"))
    LAST_CALL["url"] = str(params.get("url", "")) if isinstance(params, dict) else ""


def last_call() -> str:
    """ "CreateChangeSet to http://127.0.0.1:5000/", or "" before any call."""
    if not LAST_CALL:
        return ""
    url = LAST_CALL.get("url") or "its endpoint"
    return f"{LAST_CALL.get('operation', '?')} to {url}"


# ---- checks made before any AWS call -------------------------------------------------------
def default_region(profile: str | None = None) -> str | None:
    """$AWS_REGION, then what boto3 reads: $AWS_DEFAULT_REGION, then the profile's region."""
    region = os.environ.get("AWS_REGION") or _session(profile, None).region_name
    return str(region) if region else None


def resolve_region(
    region: str | None, profile: str | None = None, endpoint_url: str | None = None
) -> str:
    """The region a command runs in (see REGION_SOURCES), checked; UsageError if none."""
    chosen = region or default_region(profile)
    if not chosen:
        raise UsageError(f"no region: pass --region R (read from {REGION_SOURCES})")
    check_region(chosen, endpoint_url)
    return chosen


def local_region(region: str | None, endpoint_url: str | None = None) -> tuple[str, str | None]:
    """(region, warning) for commands that make no AWS call of their own (`ops event`, `ops
    invoke`): read like every command's, but with us-east-1 (and a warning) when none is set."""
    chosen = region or default_region()
    if not chosen:
        return LOCAL_REGION, f"no region set ({REGION_SOURCES}): using {LOCAL_REGION}"
    check_region(chosen, endpoint_url)
    return chosen, None


@cache
def _data(name: str) -> dict[str, Any]:
    """A file of botocore's data (`endpoints`, `partitions`), read by its loader alone, on the
    search path a session would use (`$AWS_DATA_PATH`, then botocore's own data): a whole
    session costs more than the file, and the session a command goes on to use reads it anyway."""
    from botocore.loaders import create_loader

    data: dict[str, Any] = create_loader(os.environ.get("AWS_DATA_PATH")).load_data(name)
    return data


@cache
def known_regions() -> tuple[str, ...]:
    """Every region botocore's endpoint data names, in every partition."""
    partitions = _data("endpoints")["partitions"]
    return tuple(sorted(r for p in partitions for r in p.get("regions", {})))


def _partition_form(region: str) -> bool:
    """`region` has the form of a partition's regions (botocore's partitions file, the one its
    endpoint rules read: a few kB, where the endpoint data is a megabyte)."""
    partitions = _data("partitions")["partitions"]
    return any(re.match(p["regionRegex"], region) for p in partitions if p.get("regionRegex"))


def check_region(region: str, endpoint_url: str | None = None) -> None:
    """A region botocore knows; with an endpoint URL (a local emulator), any name of the form
    a known partition uses (`eu-west-9`). Otherwise UsageError naming the closest ones."""
    if endpoint_url and _partition_form(region):  # every known region has its partition's form
        return
    if region in known_regions():
        return
    if region.lower() in known_regions():
        hint = f"region names are lower case: {region.lower()}"
    else:
        close = difflib.get_close_matches(region.lower(), known_regions(), n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}?" if close else "expected a name like eu-west-1"
    raise UsageError(f"unknown region {region!r}: {hint} (botocore knows {len(known_regions())})")


def check_endpoint(endpoint_url: str | None) -> None:
    """An http(s) URL with a host, or UsageError (botocore's own "Invalid endpoint" says less)."""
    if endpoint_url is None:
        return
    parts = urlsplit(endpoint_url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return
    example = endpoint_url if "://" in endpoint_url else f"http://{endpoint_url}"
    raise UsageError(
        f"--endpoint-url {endpoint_url!r} is not an http(s) URL: give scheme and host, "
        f"e.g. {example}"
    )


def no_credentials_message() -> str:
    return (
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
        f"AWS_PROFILE (or --profile) naming a profile that has them ({MOTO_HINT})"
    )


def check_credentials(profile: str | None = None) -> None:
    """UsageError now rather than botocore's "Unable to locate credentials" mid-command."""
    if _session(profile, None).get_credentials() is None:
        raise UsageError(no_credentials_message())


# ---- errors AWS, botocore or the endpoint gave us, as one line ------------------------------
def describe_aws_error(exc: Exception) -> tuple[str, int] | None:
    """(one-line message, exit code) for errors AWS or the network gave us; None for our bugs."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )
    from botocore.parsers import ResponseParserError

    from ops.errors import EXIT_FAILED, EXIT_USAGE

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return no_credentials_message(), EXIT_USAGE
    if isinstance(exc, ResponseParserError):
        return _not_aws(_page_title(str(exc))), EXIT_FAILED
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Error"))
        if code.isdigit():  # botocore's code for an HTTP error without an AWS error body
            return _not_aws(f"HTTP {code} {err.get('Message', '')}".strip()), EXIT_FAILED
        message = err.get("Message", str(exc))
        return f"AWS {exc.operation_name} failed: {code}: {message}", EXIT_FAILED
    if isinstance(exc, BotoCoreError):
        return f"AWS call failed: {exc}", EXIT_FAILED
    return None


def _not_aws(what: str) -> str:
    call = last_call() or "a call"
    return (
        f"the endpoint failed: it answered {call} with {what or 'something'}, not an AWS "
        "response; check the endpoint (its logs, --endpoint-url, --region) and try again"
    )


def _page_title(text: str) -> str:
    """`HTML page "500 Internal Server Error"` from a parser error that quotes the body."""
    found = re.search(r"<title>([^<]{1,80})</title>", text, re.IGNORECASE)
    return f'an HTML page "{found.group(1).strip()}"' if found else "a body botocore cannot parse"
