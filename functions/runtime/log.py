"""Structured logs: one JSON object per line on stdout, which CloudWatch Logs indexes as JSON."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

_context: dict[str, Any] = {}


def bind(**fields: Any) -> None:
    """Fields added to every following line of this invocation (function, request id, job)."""
    _context.clear()
    _context.update({k: v for k, v in fields.items() if v is not None})


def log(level: str, message: str, stream: TextIO | None = None, **fields: Any) -> None:
    line = {"level": level, "message": message, "timestamp": _now_iso(), **_context, **fields}
    out = stream or sys.stdout
    out.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")
    out.flush()


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)


def _now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
