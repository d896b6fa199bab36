"""Shared bench helpers: a moto server on 127.0.0.1 that counts the requests it serves by S3
operation, and fast seeding of its store (the server runs in the bench's own process)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def s3_operation(environ: dict[str, Any]) -> str:
    """The S3 REST operation of a request, from its method and query string."""
    method, query = environ["REQUEST_METHOD"], environ.get("QUERY_STRING", "")
    names = {part.split("=", 1)[0] for part in query.split("&") if part}
    if method == "GET":
        for marker, op in (
            ("list-type", "ListObjectsV2"),
            ("versions", "ListObjectVersions"),
            ("versioning", "GetBucketVersioning"),
        ):
            if marker in names:
                return op
        return "GetObject" if environ.get("PATH_INFO", "/").count("/") > 1 else "ListObjects"
    if method == "POST" and "delete" in names:
        return "DeleteObjects"
    return {"DELETE": "DeleteObject", "PUT": "PutObject", "HEAD": "HeadObject"}.get(method, method)


class CountingMoto:
    """moto's WSGI app behind a counter; `calls` maps S3 operation -> requests served."""

    def __init__(self, list_latency: float = 0.0) -> None:
        self.calls: Counter[str] = Counter()
        self.list_latency = list_latency  # seconds each list call waits first, as S3's take
        self._serve = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", free_port(), self._wrap(app), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            operation = s3_operation(environ)
            if self.list_latency and operation in ("ListObjectsV2", "ListObjectVersions"):
                # Outside the lock: other requests go on. S3's list time grows with the keys
                # it returns, so a one-key probe waits a thousandth of a full page's.
                keys = min(
                    int(parse_qs(environ.get("QUERY_STRING", "")).get("max-keys", ["1000"])[0]),
                    1000,
                )
                time.sleep(self.list_latency * keys / 1000)
            # One request at a time: moto's S3 store is not thread-safe (a listing that runs
            # while a delete of the same bucket does raises KeyError inside moto). Under the GIL
            # it would not serve two at once any faster, and both tools get the same server.
            with self._serve:
                self.calls[operation] += 1
                return list(app(environ, start_response))

        return counted

    def __enter__(self) -> CountingMoto:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request costs time
        os.environ.update(FAKE_ENV)
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()

    def take(self) -> Counter[str]:
        """The counts so far, and start again from zero."""
        with self._serve:
            taken, self.calls = self.calls, Counter()
        return taken


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(bucket: str, keys: Iterable[str], age: timedelta) -> int:
    """Objects straight into the server's store, backdated by `age` (no HTTP: seeding is not
    what is measured)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    when = (datetime.now(UTC) - age).replace(tzinfo=None)
    count = 0
    for key in keys:
        backend.put_object(bucket, key, b"x").last_modified = when
        count += 1
    return count


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
