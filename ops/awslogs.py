"""The CloudWatch Logs subscription payload as ops writes it for sample events and tests.

CloudWatch Logs delivers `awslogs.data`: the JSON subscription message, gzip-compressed, then
base64-encoded. `functions/logs/decode.py` reads it inside the function; this is the writing side,
for `ops event`/`ops invoke` and the tests. It lives in `ops/` so that rendering and sample events
never import function code.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any


def encode(message: dict[str, Any]) -> str:
    """`awslogs.data` for a subscription message, as CloudWatch Logs builds it."""
    raw = json.dumps(message, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw)).decode("ascii")


def decode(data: str) -> Any:
    """The message inside `awslogs.data`, unchecked (sample events only; the function checks)."""
    return json.loads(gzip.decompress(base64.b64decode(data)))
