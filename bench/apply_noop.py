"""Benchmark: `ops apply` with nothing to change vs `aws cloudformation deploy
--no-fail-on-empty-changeset`, on a moto server, same stack and template.

Both run as whole processes (start-up included), several times each; the table shows median
wall time, exit codes and the API calls each made, counted by a small reverse proxy on
127.0.0.1 that sits in front of moto. Run: `python bench/apply_noop.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/apply_noop.py`: tests/ is not on the path

from tests.configs import two_jobs  # noqa: E402
from tests.moto_server import moto_server  # noqa: E402

REGION = "eu-west-1"
STACK = "bench-noop"
CONFIG = two_jobs(STACK)
READS = ("Describe", "Get", "List", "Head", "Validate")


class Counting(BaseHTTPRequestHandler):
    """Forwards every request to moto and records the API operation it was."""

    upstream = ("127.0.0.1", 0)
    seen: list[str] = []
    lock = threading.Lock()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            self.seen.append(operation(self.command, self.path, self.headers, body))
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, *args: object) -> None:  # quiet
        pass


def operation(method: str, path: str, headers: object, body: bytes) -> str:
    target = headers.get("X-Amz-Target")  # type: ignore[attr-defined]
    if target:
        return str(target).split(".")[-1]
    action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action")
    if action:
        return action[0]
    return f"{method} {path.split('?')[0]}"  # REST (S3, Lambda)


def is_write(op: str) -> bool:
    if " " in op:
        return not op.startswith(("GET", "HEAD"))
    return not op.startswith(READS)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int, list[str], str]:
    Counting.seen.clear()
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, done.returncode, list(Counting.seen), done.stderr


def aws_deploy(env: dict[str, str], config: Path, template: Path, endpoint: str) -> list[str]:
    """The AWS CLI's command for the same stack, deployed once so the timed runs are no-ops.

    Its own stack (`-cli`, so function names differ) and template copy with
    AWSTemplateFormatVersion added: moto's GetTemplateSummary, which `deploy` calls first,
    fails on a template without it. Same resources, same code in the same artifact bucket.
    """
    import json

    config = config.with_name("cli.toml")
    config.write_text(CONFIG.replace(f'name = "{STACK}"', f'name = "{STACK}-cli"'))
    rendered = subprocess.run(
        [sys.executable, "-m", "ops.cli", "render", "--config", str(config)],
        env=env,
        capture_output=True,
        check=True,
    )
    body = json.loads(rendered.stdout)
    template.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", **body}))
    cmd = ["aws", "cloudformation", "deploy", "--template-file", str(template)]
    cmd += ["--stack-name", f"{STACK}-cli", "--capabilities", "CAPABILITY_IAM"]
    cmd += ["--no-fail-on-empty-changeset", "--region", REGION, "--endpoint-url", endpoint]
    created = run(cmd, env)
    if created[1] != 0:
        sys.exit(f"the first (creating) aws cloudformation deploy failed:\n{created[3]}")
    return cmd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with moto_server() as moto_url:
        results = measure(moto_url, runs)
    report(results, runs)


def measure(moto_url: str, runs: int) -> dict[str, list[tuple[float, int, list[str], str]]]:
    """Both contenders, `runs` times each, through the counting proxy in front of moto."""
    upstream = urllib.parse.urlsplit(moto_url)
    Counting.upstream = (str(upstream.hostname), int(upstream.port or 80))
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{proxy.server_address[1]}"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("AWS_PROFILE", None)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "ops.toml"
        config.write_text(CONFIG)
        template = Path(tmp) / "stack.json"
        ops_apply = [sys.executable, "-m", "ops.cli", "apply", "--config", str(config)]
        ops_apply += ["--region", REGION, "--endpoint-url", endpoint, "--yes"]
        first = run(ops_apply, env)
        if first[1] != 0:
            sys.exit(f"the first (creating) apply failed:\n{first[3]}")
        aws = aws_deploy(env, config, template, endpoint)
        results: dict[str, list[Any]] = {"ops apply --yes": [], "aws cloudformation deploy": []}
        for _ in range(runs):  # interleaved, so drift in the machine's load hits both alike
            results["ops apply --yes"].append(run(ops_apply, env))
            results["aws cloudformation deploy"].append(run(aws, env))
    proxy.shutdown()
    return results


def report(results: dict[str, list[tuple[float, int, list[str], str]]], runs: int) -> None:
    print(f"No-op deploy of a {STACK} stack on a moto server, {runs} runs each (whole process)")
    head = (
        f"{'tool':<28}{'median s':>10}{'min s':>8}{'max s':>8}{'exit':>7}{'calls':>7}{'writes':>8}"
    )
    print(head)
    print("-" * len(head))
    for name, rows in results.items():
        times = [r[0] for r in rows]
        exits = sorted({r[1] for r in rows})
        calls = rows[-1][2]
        writes = [c for c in calls if is_write(c)]
        print(
            f"{name:<28}{statistics.median(times):>10.2f}{min(times):>8.2f}{max(times):>8.2f}"
            f"{','.join(map(str, exits)):>7}{len(calls):>7}{len(writes):>8}"
        )
    for name, rows in results.items():
        counted = Counter(rows[-1][2])
        print(f"\n{name} calls: " + ", ".join(f"{op} x{n}" for op, n in sorted(counted.items())))
    ops_writes = {c for r in results["ops apply --yes"] for c in r[2] if is_write(c)}
    extra = sorted(ops_writes - {"CreateChangeSet", "DeleteChangeSet"})
    print(f"\nops writes beyond the change-set check itself: {extra or 'none'}")


if __name__ == "__main__":
    main()
