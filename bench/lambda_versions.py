"""Benchmark: the lambda-versions purge vs the loop a user would otherwise write, in moto.

20 functions x 30 published versions (an alias on one version of each, a weighted alias on
another), in-process moto. Each contender runs against a fresh copy of the same estate:
- `ops`: functions/purge/lambda_versions.run with its real token bucket (wall clock);
- `naive`: the usual boto3 script: ListFunctions, then per function ListVersionsByFunction and
  ListAliases, deleting every version but $LATEST, the aliases' targets and the newest `keep`,
  as fast as the API answers (no pacing; it misses weighted routing, provisioned concurrency and
  event source mappings).
Printed: API calls per function examined, calls by operation, and the measured request rate of
Lambda control-plane calls against the job's cap. Run: `python bench/lambda_versions.py [--rate R]`.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)

import boto3
from moto import mock_aws

from functions.purge import lambda_versions
from functions.runtime.budget import TimeBudget

FUNCTIONS, VERSIONS, KEEP = 20, 30, 3


class Timed:
    """Records when each Lambda call was made (wall clock) and serves provisioned concurrency,
    which moto does not implement (no configs: what an estate without it answers)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.stamps: list[float] = []
        self.ops: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def call(**params: Any) -> Any:
            self.stamps.append(time.monotonic())
            self.ops[name] += 1
            return method(**params)

        return call

    def list_provisioned_concurrency_configs(self, **_: Any) -> Any:
        self.stamps.append(time.monotonic())
        self.ops["list_provisioned_concurrency_configs"] += 1
        return {"ProvisionedConcurrencyConfigs": []}


def code() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("h.py", "def handler(e, c):\n    return e\n")
    return buf.getvalue()


def seed() -> None:
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    lam = boto3.client("lambda")
    for f in range(FUNCTIONS):
        name = f"app-{f:02d}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="h.handler",
            Code={"ZipFile": code()},
        )
        for v in range(VERSIONS):
            lam.update_function_configuration(FunctionName=name, Description=f"r{v}")
            lam.publish_version(FunctionName=name)
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="20")
        weights = {"AdditionalVersionWeights": {"5": 0.1}}
        lam.create_alias(
            FunctionName=name, Name="canary", FunctionVersion="21", RoutingConfig=weights
        )


def run_ops(rate: float) -> dict[str, Any]:
    client = Timed(boto3.client("lambda"))
    job = lambda_versions.Settings.from_job(
        {
            "name": "bench",
            "target": "lambda-versions",
            "function_prefix": "app-",
            "keep": KEEP,
            "older_than": 1,
            "max_rate": rate,
        }
    )
    later = datetime.now(UTC) + timedelta(days=1)
    start = time.monotonic()
    report = lambda_versions.run(
        job, now=later, budget=TimeBudget.seconds(3600), event={}, lambda_client=client
    )
    return summary("ops", client, time.monotonic() - start, report.deleted, report.examined)


def run_naive() -> dict[str, Any]:
    client = Timed(boto3.client("lambda"))
    start, deleted, examined = time.monotonic(), 0, 0
    for page in [client.list_functions()]:
        for fn in page["Functions"]:
            name = fn["FunctionName"]
            versions = [
                v["Version"]
                for v in client.list_versions_by_function(FunctionName=name)["Versions"]
                if v["Version"] != "$LATEST"
            ]
            examined += len(versions)
            aliased = {
                a["FunctionVersion"] for a in client.list_aliases(FunctionName=name)["Aliases"]
            }
            for version in sorted(versions, key=int)[:-KEEP]:
                if version not in aliased:
                    client.delete_function(FunctionName=name, Qualifier=version)
                    deleted += 1
    return summary("naive loop", client, time.monotonic() - start, deleted, examined)


def summary(
    label: str, client: Timed, seconds: float, deleted: int, examined: int
) -> dict[str, Any]:
    stamps = client.stamps
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    window = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    return {
        "label": label,
        "seconds": seconds,
        "calls": len(stamps),
        "ops": client.ops,
        "deleted": deleted,
        "examined": examined,
        "rate": rate,
        "peak": window,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="the job's max_rate (<= 10)")
    args = parser.parse_args()
    results = []
    for contender in (lambda: run_ops(args.rate), run_naive):
        with mock_aws():
            seed()
            results.append(contender())
    print(f"{FUNCTIONS} functions x {VERSIONS} versions, keep={KEEP}; ops max_rate={args.rate:g}/s")
    print(f"{'':12}{'calls':>7}{'per fn':>8}{'deleted':>9}{'seconds':>9}{'req/s':>8}{'peak 1s':>9}")
    for r in results:
        print(
            f"{r['label']:12}{r['calls']:>7}{r['calls'] / FUNCTIONS:>8.1f}{r['deleted']:>9}"
            f"{r['seconds']:>9.1f}{r['rate']:>8.2f}{r['peak']:>9}"
        )
    print("\ncalls by operation")
    ops = sorted(set(results[0]["ops"]) | set(results[1]["ops"]))
    for op in ops:
        print(f"  {op:40}{results[0]['ops'][op]:>6}{results[1]['ops'][op]:>6}")
    ok = results[0]["rate"] <= args.rate + 1e-6
    print(
        f"\nops request rate {results[0]['rate']:.2f}/s vs cap {args.rate:g}/s: "
        f"{'under' if ok else 'OVER'} the cap; the account limit is ~15/s shared with deploys"
    )


if __name__ == "__main__":
    main()
