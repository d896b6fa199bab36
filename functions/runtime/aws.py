"""AWS clients, created lazily once per container and shared by every record and invocation.

Clients are botocore's own, on botocore sessions made here (one per timestamp parser, so one in
all for most functions): boto3 adds nothing a client call uses (its session would build a
second botocore session's worth of handlers and import s3transfer for `upload_file`, which no
function calls), and botocore is imported on first use, not at module import, to keep cold
starts short. Clients honour `AWS_ENDPOINT_URL` (botocore does), which is how `ops invoke
--endpoint-url` points a function at a local moto server. A session keeps the credentials it
first found: `reset()` forgets sessions and clients (a local run with other credentials).

`iso_timestamps=True` gives a client (on a botocore session of its own, so no other client is
touched) whose responses' timestamps are parsed with `datetime.fromisoformat` where they are ISO
8601 with a zone, as S3 listings write them (`2024-05-01T10:00:00.000Z`); any other form goes to
botocore's own parser, so every value parses to what botocore would give. In Lambda's CPU share
dateutil parsing one `LastModified` per listed object was most of the S3 purge's CPU.

`parse_once(client)` stops an S3 client parsing list and delete responses twice: botocore checks
every S3 200 response for an embedded `<Error>` (and for a body cut off mid-stream) by parsing the
whole body into a tree before its parser parses it again, a tenth of the purge's CPU. For the
operations in `PARSED_ONCE` the check reads the root element's name and that the body ends with
its closing tag instead: the same answer (an `Error` root, or a body that is not whole, becomes a
500 that standard retries send again), no tree. Other operations keep botocore's own check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

# Standard retry mode retries throttling and 5xx (S3 503 SlowDown among them) with jittered
# exponential back-off; families that need more attempts ask for them.
DEFAULT_ATTEMPTS = 5
# ISO 8601 with seconds, a fraction of at most 6 digits (what datetime holds) and `Z` or a
# numeric offset; anything else (RFC 822 headers, epoch seconds, nanoseconds) is botocore's.
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z")
# Bulk responses whose bodies are large and never streamed (the S3 purge's calls).
PARSED_ONCE = frozenset({"ListObjectsV2", "ListObjectVersions", "DeleteObjects"})
_BOTOCORE_200_CHECK = "before-parse.s3.*"
# The root element: after an optional XML declaration and whitespace, `<Name`.
_ROOT = re.compile(rb"\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z_][\w.:-]*)")


@cache
def client(
    service: str,
    max_attempts: int = DEFAULT_ATTEMPTS,
    max_pool: int = 10,
    region: str | None = None,
    iso_timestamps: bool = False,
) -> Any:
    """A client in the function's region, or in `region` (the copier reads another's bucket)."""
    parser = parse_timestamp if iso_timestamps else None
    return build_client(service, max_attempts, max_pool, parser, region=region)


def build_client(
    service: str,
    max_attempts: int,
    max_pool: int,
    timestamp_parser: Callable[[Any], datetime] | None = None,
    region: str | None = None,
) -> Any:
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max_pool,
    )
    return _session(timestamp_parser).create_client(service, config=config, region_name=region)


@cache
def _session(timestamp_parser: Callable[[Any], datetime] | None) -> Any:
    """The botocore session of clients that parse timestamps with `timestamp_parser` (None:
    botocore's parser). Region and endpoint are read per client; credentials once."""
    import botocore.session

    session = botocore.session.get_session()
    if timestamp_parser is not None:
        factory = session.get_component("response_parser_factory")
        factory.set_parser_defaults(timestamp_parser=timestamp_parser)
    return session


def reset() -> None:
    """Forget every client and session (and the credentials they found)."""
    client.cache_clear()
    _session.cache_clear()


def parse_timestamp(value: Any) -> datetime:
    """A timestamp from a response, as botocore's default parser would return it."""
    if isinstance(value, str) and _ISO.match(value):
        return datetime.fromisoformat(value)
    from botocore.utils import parse_timestamp as botocore_parse

    parsed: datetime = botocore_parse(value)
    return parsed


def parse_once(s3: Any) -> Any:
    """`s3` with botocore's 200-error check replaced for `PARSED_ONCE` (see the module
    docstring); a botocore without that check is left as it is. Only this client changes
    (botocore gives every client its own copy of the session's handlers), and once."""
    from botocore import handlers

    botocore_check = getattr(handlers, "_handle_200_error", None)
    if botocore_check is None:
        return s3

    def check(operation_model: Any, response_dict: Any, **kwargs: Any) -> None:
        if operation_model.name not in PARSED_ONCE:
            botocore_check(operation_model=operation_model, response_dict=response_dict, **kwargs)
        elif response_dict and response_dict.get("status_code") == 200:  # as botocore's
            body = response_dict.get("body") or b""
            response_dict["status_code"] = 200 if whole_s3_result(body) else 500

    events = s3.meta.events
    events.unregister(_BOTOCORE_200_CHECK, botocore_check)
    events.register_first(_BOTOCORE_200_CHECK, check, unique_id="ops-parse-once")
    return s3


def whole_s3_result(body: bytes) -> bool:
    """False where botocore's check finds an S3 error in a 200 response: a body whose root
    element is `Error`, or that is not a whole document (cut off, or not XML). An empty body
    is whole (botocore leaves it to the parser)."""
    if not body:
        return True
    found = _ROOT.match(body)
    if found is None or found.group(1) == b"Error":
        return False
    tail = body[found.start(1) - 1 :].rstrip()
    root = found.group(1)
    return tail.endswith(b"</" + root + b">") or (tail.endswith(b"/>") and tail.count(b"<") == 1)
