"""S3 at scale: our purge against a simulated S3 endpoint that behaves like one prefix of S3.

    python bench/s3_speed.py [--objects 210000] [--latency-ms 20] [--limit 3500]

The endpoint (a threaded HTTP server in its own process on 127.0.0.1) implements just
GetBucketVersioning, ListObjectsV2 and DeleteObjects, answers every request after `latency-ms`,
and admits deletes through a token bucket of `limit` keys/s (one second of burst): a DeleteObjects
that finds fewer tokens than keys gets 503 SlowDown, as S3 does beyond its per-prefix rate.
Prints objects/s sustained, API calls per 1,000 objects (SlowDowns apart) and the SlowDown count.
"""

from __future__ import annotations

import argparse
import bisect
import multiprocessing
import os
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _moto import FAKE_ENV, free_port, table

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MODIFIED = "2020-01-01T00:00:00.000Z"
SLOW_DOWN = (
    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)


class Prefix:
    """The bucket's keys and the per-prefix delete rate S3 allows."""

    def __init__(self, count: int, limit: float) -> None:
        self.keys = [f"tmp/{i:08d}.jpg" for i in range(count)]
        self.gone: set[str] = set()
        self.limit, self.tokens, self.stamp = limit, limit, time.monotonic()
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def admit(self, keys: int) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.limit, self.tokens + (now - self.stamp) * self.limit)
            self.stamp = now
            if self.tokens < keys:
                return False
            self.tokens -= keys
            return True

    def page(self, after: str, limit: int) -> tuple[list[str], bool]:
        with self.lock:
            start = bisect.bisect_right(self.keys, after)
            found: list[str] = []
            while start < len(self.keys) and len(found) < limit:
                if self.keys[start] not in self.gone:
                    found.append(self.keys[start])
                start += 1
            more = any(k not in self.gone for k in self.keys[start : start + 1])
            return found, more or start < len(self.keys)

    def count(self, op: str) -> None:
        with self.lock:
            self.calls[op] = self.calls.get(op, 0) + 1


def make_handler(prefix: Prefix, latency: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency)
            query = parse_qs(urlparse(self.path).query, keep_blank_values=True)
            if "versioning" in query:
                prefix.count("GetBucketVersioning")
                return self.reply(200, f'<VersioningConfiguration xmlns="{NS}"/>')
            if "stats" in query:
                return self.reply(200, repr(prefix.calls))
            prefix.count("ListObjectsV2")
            self.reply(200, list_body(prefix, query))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(latency)
            keys = [e.text or "" for e in ET.fromstring(body).iter(f"{{{NS}}}Key")]
            if not prefix.admit(len(keys)):
                prefix.count("SlowDown")
                return self.reply(503, SLOW_DOWN)
            prefix.count("DeleteObjects")
            with prefix.lock:
                prefix.gone.update(keys)
            self.reply(200, f'<DeleteResult xmlns="{NS}"></DeleteResult>')

        def reply(self, status: int, text: str) -> None:
            data = ('<?xml version="1.0" encoding="UTF-8"?>' + text).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def list_body(prefix: Prefix, query: dict[str, list[str]]) -> str:
    after = query.get("continuation-token", query.get("start-after", [""]))[0]
    limit = int(query.get("max-keys", ["1000"])[0])
    keys, more = prefix.page(after, limit)
    contents = "".join(
        f"<Contents><Key>{escape(quote(k, safe='/'))}</Key><LastModified>{MODIFIED}</LastModified>"
        f'<ETag>"x"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>'
        for k in keys
    )
    token = (
        f"<NextContinuationToken>{escape(keys[-1])}</NextContinuationToken>"
        if more and keys
        else ""
    )
    return (
        f'<ListBucketResult xmlns="{NS}"><Name>bench</Name><Prefix>tmp/</Prefix>'
        f"<KeyCount>{len(keys)}</KeyCount><MaxKeys>{limit}</MaxKeys><EncodingType>url</EncodingType>"
        f"<IsTruncated>{'true' if token else 'false'}</IsTruncated>{token}{contents}"
        "</ListBucketResult>"
    )


def serve(port: int, count: int, latency: float, limit: float, ready: object) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(Prefix(count, limit), latency))
    server.daemon_threads = True
    ready.set()  # type: ignore[attr-defined]
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=210_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--limit", type=float, default=3500.0)
    args = parser.parse_args()
    port, ready = free_port(), multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve,
        args=(port, args.objects, args.latency_ms / 1000, args.limit, ready),
        daemon=True,
    )
    server.start()
    ready.wait()
    os.environ.update({**FAKE_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    from functions.purge import s3 as purge
    from functions.runtime.budget import TimeBudget

    job = {"name": "bench", "bucket": "bench", "prefix": "tmp/", "older_than": 3600}
    start = time.perf_counter()
    report = purge.run(job, now=datetime.now(UTC), budget=TimeBudget.seconds(900), event={})
    elapsed = time.perf_counter() - start
    server.terminate()
    show(args, report, elapsed)


def show(args: argparse.Namespace, report: object, elapsed: float) -> None:
    calls = dict(report.api_calls)  # type: ignore[attr-defined]
    slow = report.retries.get("SlowDown", 0)  # type: ignore[attr-defined]
    useful = sum(calls.values()) - slow
    deleted = report.deleted  # type: ignore[attr-defined]
    print(
        f"Simulated S3 prefix: {args.objects:,} objects, {args.latency_ms:g} ms per request, "
        f"{args.limit:,.0f} deletes/s (503 SlowDown beyond)\n"
    )
    rows = [
        [
            "run",
            "status",
            "deleted",
            "wall s",
            "objects/s",
            "calls/1,000",
            "SlowDown",
            "by operation",
        ]
    ]
    ops = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
    rows.append(
        [
            "ops purge",
            report.status,
            f"{deleted:,}",
            f"{elapsed:.1f}",  # type: ignore[attr-defined]
            f"{deleted / elapsed:,.0f}",
            f"{useful * 1000 / max(deleted, 1):.2f}",
            str(slow),
            ops,
        ]
    )
    print(table(rows))
    print(
        f"\n{deleted / elapsed / args.limit:.0%} of the prefix's limit; "
        f"in 15 minutes: {deleted / elapsed * 900:,.0f} objects"
    )


if __name__ == "__main__":
    main()
