"""Benchmark: the bundled stack rolled out to N accounts x M regions (20 x 2 by default) as one
CloudFormation stack set vs one `ops apply` per account and region, one after the other.

    python bench/stacksets.py [--accounts 20] [--regions 2] [--quick]
                              [--stack-minutes 3] [--apply-overhead-seconds 30]

Both sides deploy the same stack: the root ops.toml without its [deployer] (a stack set leaves
the deployer out: global bucket names and per-region stacks, docs/org.md), with self-managed
[targets] naming the accounts and regions.

(a) `ops apply --org --yes`, the real CLI in-process, from the administrator account (moto's
    default account): the template rendered once, one artifact bucket per region with the zips,
    CreateStackSet and one CreateStackInstances operation waited on with
    DescribeStackSetOperation; then the same command again, which must start no operation.
(b) `ops apply --region R --yes`, the real CLI in-process, once per account x region, each with
    the account's own credentials from sts:AssumeRole of the execution role (moto files the
    temporary key under the role's account, so every call of the run lands in that account);
    then the same 40 runs again, each a no-op. The boto3 session cache is cleared before every
    run, as a new process would start; process start-up itself is not in the times.

Counted for each: wall time, the API calls the client made (every botocore call to the moto
endpoint, by service:operation), and the work the service did for them (stacks the run brought
to CREATE_COMPLETE in the target accounts, the resources moto created in them, Lambda functions
there), read from moto's backends before and after the run. moto's StackSets create real stacks
in the instance accounts of a SELF_MANAGED stack set (with tests/moto_gaps.py naming them as AWS
does), synchronously, inside CreateStackInstances; moto ignores the operation preferences
(concurrency, failure tolerance, region order) and assumes no role, so its wall time says
nothing about StackSets' rollout speed: the paper model below does (bench/_stacksets_model.py,
with the AWS pages it follows). moto and the bench share one process and two cores: the times
are orders of magnitude, not AWS's.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stacksets_model as model  # noqa: E402
import boto3  # noqa: E402
import botocore.client  # noqa: E402
import requests  # noqa: E402
from _moto import table  # noqa: E402

from tests.moto_server import moto_server  # noqa: E402

REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", "sa-east-1")
ADMIN_KEYS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
READS = ("Describe", "Get", "List", "Head", "Validate")
NOT_WRITES = {"sts:AssumeRole"}  # credentials for the next run: it changes nothing
ADMIN_ARGS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
MECHANISM = (
    "StackSets' own default ConcurrencyMode (STRICT_FAILURE_TOLERANCE) holds the concurrency at "
    "failure tolerance + 1: with failure_tolerance_percent = 0 that is one account at a time per "
    "region, whatever max_concurrent_percent says, no faster than the sequential applies; so ops "
    'sends SOFT_FAILURE_TOLERANCE unless [targets] says concurrency_mode = "strict". The '
    "concurrent share and parallel regions are what make it fast, up to the 100 instances at "
    "once a stack set runs. "
    "The client's calls grow with the wait: the progress line lists every instance's result on "
    "every poll. Busiest calls/s: the steady rate in the one account-region that gets the most "
    "(each ops apply its own; all of StackSets' polls in the administrator account), to hold "
    "against that API's throttle quota."
)


def accounts(count: int) -> list[str]:
    return [f"{210000000000 + i:012d}" for i in range(1, count + 1)]


def configs(tmp: Path, targets: list[str], regions: list[str]) -> tuple[Path, Path]:
    """The bundled ops.toml without [deployer]: as is for `ops apply`, with [targets] for the
    stack set (the same resources; the stack set's template adds its ArtifactAccount parameter)."""
    text = re.sub(r"(?ms)^\[deployer\]\n.*?(?=^\[)", "", (ROOT / "ops.toml").read_text())
    if "[deployer]" in text:
        sys.exit("bench/stacksets.py: could not take [deployer] out of ops.toml")
    single = tmp / "ops.toml"
    single.write_text(text)
    org = tmp / "org.toml"
    listed = ", ".join(f'"{a}"' for a in targets)
    order = ", ".join(f'"{r}"' for r in regions)
    org.write_text(f"{text}\n[targets]\naccounts = [{listed}]\nregion_order = [{order}]\n")
    return single, org


class Calls:
    """Every API call a botocore client makes to `endpoint`, as service:Operation."""

    def __init__(self) -> None:
        self.endpoint = ""
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._original = botocore.client.BaseClient._make_api_call

    @contextmanager
    def hooked(self, endpoint: str) -> Iterator[Calls]:
        self.endpoint = endpoint
        original, calls = self._original, self

        def counted(client: Any, operation: str, params: Any) -> Any:
            if str(client.meta.endpoint_url).startswith(calls.endpoint):
                with calls._lock:
                    calls.seen[f"{client.meta.service_model.service_name}:{operation}"] += 1
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counted
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.seen = self.seen, Counter()
        return taken


def writes(calls: Counter[str]) -> int:
    return sum(
        n
        for op, n in calls.items()
        if op not in NOT_WRITES and not op.split(":")[1].startswith(READS)
    )


@dataclass
class Work:
    """What the service did in the target accounts (read from moto, not through the API)."""

    stacks: int = 0
    resources: int = 0
    functions: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def __sub__(self, before: Work) -> Work:
        """What a run added (a no-op run: nothing)."""
        statuses = Counter(self.statuses)
        statuses.subtract(before.statuses)
        return Work(
            self.stacks - before.stacks,
            self.resources - before.resources,
            self.functions - before.functions,
            +statuses,
        )


def service_work(targets: list[str], regions: list[str]) -> Work:
    from moto.awslambda.models import lambda_backends
    from moto.cloudformation.models import cloudformation_backends

    work = Work()
    for account in targets:
        for region in regions:
            for stack in cloudformation_backends[account][region].stacks.values():
                work.statuses[stack.status] += 1
                if stack.status == "CREATE_COMPLETE":
                    work.stacks += 1
                    work.resources += sum(1 for r in stack.stack_resources if r is not None)
            work.functions += len(list(lambda_backends[account][region].list_functions()))
    return work


@dataclass
class Side:
    name: str
    seconds: float
    calls: Counter[str]
    work: Work
    outcome: str


def stack_set_side(
    endpoint: str, org_config: Path, calls: Calls, home: str, work: Callable[[], Work]
) -> list[Side]:
    """(a): `ops apply --org --yes` from the administrator account, twice."""
    sides = []
    for label in ("create", "rerun (no-op)"):
        before, start = work(), time.perf_counter()
        args = ["apply", "--org", "--config", str(org_config), "--region", home, "--yes"]
        result = cli_run([*args, "--endpoint-url", endpoint], ADMIN_KEYS)
        seconds = time.perf_counter() - start
        if result.exit_code != 0:
            sys.exit(f"ops apply --org failed ({result.exit_code}):\n{result.stderr}")
        said = result.stderr.strip().splitlines()
        progress = [line for line in said if line.startswith("stack set ")]
        outcome = f"exit {result.exit_code}; " + " / ".join(progress[-2:] or said[-1:])
        sides.append(Side(f"StackSets {label}", seconds, calls.take(), work() - before, outcome))
    return sides


def cli_run(args: list[str], env: dict[str, str]) -> Any:
    """The real CLI in-process, as a new process would start it (its boto3 session cache
    cleared, so the credentials in `env` are the ones it uses)."""
    from click.testing import CliRunner

    import ops.aws
    from ops.cli import cli

    ops.aws._session.cache_clear()
    return CliRunner().invoke(cli, args, env=env)


def sequential_side(
    endpoint: str,
    config: Path,
    calls: Calls,
    targets: list[str],
    regions: list[str],
    work: Callable[[], Work],
    again: bool,
) -> list[Side]:
    """(b): `ops apply` once per account x region under that account's credentials."""
    from ops.models.targets import DEFAULT_EXECUTION_ROLE

    sts = boto3.client("sts", region_name=regions[0], endpoint_url=endpoint, **ADMIN_ARGS)
    rounds = ("create", "rerun (no-op)") if again else ("create",)
    sides = []
    for label in rounds:
        exits: Counter[int] = Counter()
        before, start = work(), time.perf_counter()
        for account in targets:
            for region in regions:
                role = f"arn:aws:iam::{account}:role/{DEFAULT_EXECUTION_ROLE}"
                creds = sts.assume_role(RoleArn=role, RoleSessionName="ops-bench")["Credentials"]
                env = {
                    "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                    "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": creds["SessionToken"],
                }
                args = ["apply", "--config", str(config), "--region", region, "--yes"]
                result = cli_run([*args, "--endpoint-url", endpoint], env)
                exits[result.exit_code] += 1
                if result.exit_code != 0:
                    sys.exit(f"ops apply in {account} {region} failed:\n{result.stderr}")
        seconds = time.perf_counter() - start
        runs = len(targets) * len(regions)
        outcome = f"{runs} runs, exit codes {dict(exits)}"
        made = work() - before
        sides.append(Side(f"{runs} x ops apply {label}", seconds, calls.take(), made, outcome))
    return sides


def measure(n_accounts: int, n_regions: int, again: bool) -> tuple[list[Side], list[str]]:
    targets, regions = accounts(n_accounts), list(REGIONS[:n_regions])
    os.environ.update({**ADMIN_KEYS, "AWS_DEFAULT_REGION": regions[0], "AWS_REGION": regions[0]})
    os.environ.pop("AWS_PROFILE", None)
    calls = Calls()
    notes = []
    with tempfile.TemporaryDirectory() as tmp, moto_server(quiet=True) as endpoint:
        single, org = configs(Path(tmp), targets, regions)

        def work() -> Work:
            return service_work(targets, regions)

        with calls.hooked(endpoint):
            sets = stack_set_side(endpoint, org, calls, regions[0], work)
            requests.post(f"{endpoint}/moto-api/reset", timeout=30)  # the same function names
            applies = sequential_side(endpoint, single, calls, targets, regions, work, again)
    done, wanted = sets[0].work.stacks, n_accounts * n_regions
    if done == wanted:
        notes.append(
            f"moto's StackSets created real stacks in the instance accounts: {done} of {wanted} "
            "CREATE_COMPLETE, with the same resources as the applies' stacks"
        )
    else:
        notes.append(
            f"moto's StackSets created {done} complete stacks of {wanted} instances "
            f"({dict(sets[0].work.statuses)}): the StackSets side then measures orchestration "
            "calls only, not the work of the stacks"
        )
    return sets + applies, notes


def report(sides: list[Side], notes: list[str], args: argparse.Namespace) -> None:
    n = args.accounts * args.regions
    print(
        f"The bundled stack (ops.toml without [deployer]) to {args.accounts} accounts x "
        f"{args.regions} region(s) = {n} stacks, on one moto server (in-process, 127.0.0.1)\n"
    )
    head = ["run", "wall s", "client calls", "per stack", "writes", "stacks made", "resources"]
    rows = [[*head, "functions"]]
    for side in sides:
        total = sum(side.calls.values())
        rows.append(
            [
                side.name,
                f"{side.seconds:.2f}",
                str(total),
                f"{total / n:.1f}",
                str(writes(side.calls)),
                str(side.work.stacks),
                str(side.work.resources),
                str(side.work.functions),
            ]
        )
    print(table(rows))
    print(
        "\n(stacks made, resources and functions: what the run added in the target accounts, "
        "counted in moto's backends, not through the API; client calls: botocore calls to moto)"
    )
    for side in sides:
        listed = ", ".join(f"{op} x{k}" for op, k in sorted(side.calls.items()))
        print(f"\n{side.name}: {side.outcome}\n  calls: {listed or 'none'}")
    for note in notes:
        print("\n" + textwrap.fill(f"NOTE: {note}", 100))
    paper(sides, args)
    print("\nSources:\n" + "\n".join(f"  {url}" for url in model.SOURCES))


def paper(sides: list[Side], args: argparse.Namespace) -> None:
    """The model at the measured size and at 1,000 instances, from the calls counted above."""
    n = args.accounts * args.regions
    per_apply = round(sum(sides[2].calls.values()) / n)
    stackset_calls = sum(sides[0].calls.values())
    a = model.Assumptions(args.stack_minutes, args.apply_overhead_seconds)
    lines = [
        "ON PAPER (a model, nothing measured): AWS's published StackSets rules (the sources "
        "below; bench/_stacksets_model.py says which rule comes from which) and ASSUMPTIONS:",
        f"  - ASSUMED: one create of the bundled stack takes {a.stack_minutes:g} min on AWS "
        "(--stack-minutes)",
        f"  - ASSUMED: one ops apply adds {a.apply_overhead_seconds:g} s to it: bootstrap, "
        "uploads, change set, AssumeRole (--apply-overhead-seconds)",
        f"  - client calls: moto's counts ({per_apply} per ops apply incl. AssumeRole; "
        f"{stackset_calls} for the StackSets create of {n}) plus the polls a wait that long makes:",
        f"    ops apply every {a.apply_poll_seconds:g} s, {a.apply_calls_per_poll} calls each; "
        f"StackSets every {a.stackset_poll_seconds:g} s, DescribeStackSetOperation and every "
        f"page ({model.RESULTS_PAGE} a page) of ListStackSetOperationResults for the progress "
        "line (all instances listed on every poll: an upper bound)",
        "  - ASSUMED: StackSets' scheduling time between waves (not published) is none",
    ]
    print("\n" + "\n".join(lines))
    sizes = [(args.accounts, args.regions), (500, 2)]
    for accounts_, regions_ in sizes:
        rows = [
            [
                "rollout",
                "time",
                "client calls",
                "vs sequential (time, calls)",
                "busiest calls/s",
                "how",
            ]
        ]
        found = model.estimates(accounts_, regions_, per_apply, stackset_calls, a)
        for e in found:
            versus = f"x{e.minutes / found[0].minutes:.3g}, x{e.calls / found[0].calls:.3g}"
            rows.append(
                [
                    e.label,
                    model.duration(e.minutes),
                    f"{e.calls:,}",
                    versus,
                    f"{e.busiest_rate:.2f}",
                    e.note,
                ]
            )
        print(f"\n{accounts_} accounts x {regions_} regions = {accounts_ * regions_} instances")
        print(table(rows))
    print("\n" + textwrap.fill(MECHANISM, 100))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=None, help="target accounts (20)")
    parser.add_argument("--regions", type=int, default=None, help=f"1-{len(REGIONS)} (2)")
    parser.add_argument(
        "--quick", action="store_true", help="2 accounts x 1 region unless given; no apply reruns"
    )
    parser.add_argument("--stack-minutes", type=float, default=3.0)
    parser.add_argument("--apply-overhead-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    args.accounts = args.accounts or (2 if args.quick else 20)
    args.regions = args.regions or (1 if args.quick else 2)
    if not 1 <= args.regions <= len(REGIONS) or args.accounts < 1:
        parser.error(f"--accounts at least 1, --regions from 1 to {len(REGIONS)}")
    warnings.simplefilter("ignore")  # moto's "not supported by moto's CloudFormation" per type
    logging.getLogger("moto").setLevel(logging.ERROR)  # and its "No Moto CloudFormation support"
    sides, notes = measure(args.accounts, args.regions, again=not args.quick)
    report(sides, notes, args)


if __name__ == "__main__":
    main()
