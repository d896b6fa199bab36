"""On paper: rolling one stack out to accounts x regions with StackSets vs one `ops apply` per
account and region, at AWS's published operation rules. Nothing here is measured: every figure
comes from the arguments (the calls a run makes, as the moto side of bench/stacksets.py counted
them) or from an assumption that says it is one.

Published rules used (AWS CloudFormation User Guide and API Reference):
- StackSetOperationPreferences (API_StackSetOperationPreferences.html): MaxConcurrentPercentage
  rounds down, to 1 at least; under ConcurrencyMode STRICT_FAILURE_TOLERANCE, StackSets'
  default, the initial concurrency is the lower of MaxConcurrent and FailureToleranceCount + 1,
  so a failure tolerance of 0 deploys ONE account at a time per region whatever
  MaxConcurrentPercentage says; FailureTolerancePercentage rounds down;
  SOFT_FAILURE_TOLERANCE (what ops sends unless concurrency_mode = "strict") runs at
  MaxConcurrent.
- StackSets concepts, "Stack set operation options" (stacksets-concepts.html#stackset-ops-options):
  sequential regions one after the other in RegionOrder, parallel all at once; "the maximum speed
  of deployment is 100 concurrent stack instances per stack set" (taken here to span the regions
  of a parallel operation: 50 per region for two).
- CloudFormation quotas (cloudformation-limits.html): 100,000 stack instances per stack set,
  10,000 stack instance operations at once per region per administrator account, 1,000 stack
  sets per administrator account. CloudFormation's per-API throttle quotas (Service Quotas
  L-BDAD37B8 CreateStack, L-F4BB1228 DescribeStackEvents, L-6286B93B DescribeStackSetOperation,
  L-8497B9EB ListStackSetOperationResults, ...) are per account and region; the docs searched
  give no default values, so the model reports each side's steady call rate in the busiest
  account-region instead of a throttled time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SOURCES = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/"
    "API_StackSetOperationPreferences.html",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
    "stacksets-concepts.html#stackset-ops-options",
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
    "https://docs.aws.amazon.com/general/latest/gr/cfn.html (CloudFormation endpoints and quotas)",
    "https://repost.aws/knowledge-center/cloudformation-rate-exceeded-error",
)
PER_STACK_SET_CAP = 100  # concurrent stack instances per stack set (StackSets concepts)
RESULTS_PAGE = 100  # ListStackSetOperationResults' MaxResults maximum


@dataclass(frozen=True)
class Assumptions:
    """What the model takes without measuring it (printed beside every result)."""

    stack_minutes: float = 3.0  # one create of the bundled stack (61 resources), on AWS
    apply_overhead_seconds: float = 30.0  # one ops apply besides the create: bootstrap, uploads,
    # change set creation (CreateChangeSet + its wait), AssumeRole
    apply_poll_seconds: float = 3.0  # ops apply's Watcher.delay
    apply_calls_per_poll: int = 2  # DescribeStackEvents + DescribeStacks
    stackset_poll_seconds: float = 5.0  # ops.deploy.stackset.Operation.delay


@dataclass(frozen=True)
class Preferences:
    """One StackSets operation's preferences (what ops sends from [targets])."""

    label: str
    max_concurrent_percent: int
    failure_tolerance_percent: int
    parallel_regions: bool
    strict: bool = False  # ConcurrencyMode: ops sends SOFT unless concurrency_mode = "strict"

    def concurrency(self, accounts: int, regions: int) -> int:
        """Accounts deployed at once in one region."""
        wanted = max(1, accounts * self.max_concurrent_percent // 100)
        if self.strict:
            wanted = min(wanted, accounts * self.failure_tolerance_percent // 100 + 1)
        share = PER_STACK_SET_CAP // regions if self.parallel_regions else PER_STACK_SET_CAP
        return max(1, min(wanted, share))


@dataclass(frozen=True)
class Estimate:
    label: str
    minutes: float
    calls: int
    busiest_rate: float  # calls per second in the account-region that gets the most
    note: str


def sequential(accounts: int, regions: int, fixed_calls: int, a: Assumptions) -> Estimate:
    """One ops apply per account and region, one after the other: each waits for its create
    and polls for it; every run talks to its own account-region."""
    runs = accounts * regions
    seconds = a.stack_minutes * 60
    polls = math.ceil(seconds / a.apply_poll_seconds)
    per_run = fixed_calls + polls * a.apply_calls_per_poll
    minutes = runs * (a.stack_minutes + a.apply_overhead_seconds / 60)
    rate = per_run / (seconds + a.apply_overhead_seconds)
    return Estimate(
        f"{runs} sequential ops apply",
        minutes,
        runs * per_run,
        rate,
        f"{per_run} calls a run ({fixed_calls} + {polls} polls x {a.apply_calls_per_poll})",
    )


def stack_sets(
    accounts: int, regions: int, fixed_calls: int, prefs: Preferences, a: Assumptions
) -> Estimate:
    """One operation over every instance: waves of `concurrency` accounts per region, each wave
    one stack create long; StackSets' own scheduling time between waves is not published and
    counted as none (a lower bound). The client polls DescribeStackSetOperation and lists the
    operation's results for the progress line, every poll, from the administrator account."""
    per_region = prefs.concurrency(accounts, regions)
    waves = math.ceil(accounts / per_region)
    minutes = waves * a.stack_minutes * (1 if prefs.parallel_regions else regions)
    polls = math.ceil(minutes * 60 / a.stackset_poll_seconds)
    pages = math.ceil(accounts * regions / RESULTS_PAGE)  # results listed once StackSets has them
    calls = fixed_calls + polls * (1 + pages) + pages  # + the failures listing at the end
    return Estimate(
        f"StackSets, {prefs.label}",
        minutes,
        calls,
        (1 + pages) / a.stackset_poll_seconds,
        f"{per_region} account(s) at once per region, {waves} wave(s)"
        f"{' per region, regions in turn' if not prefs.parallel_regions and regions > 1 else ''}",
    )


PREFERENCES = (
    Preferences("ops defaults (25% at once, 0% tolerance, soft, sequential)", 25, 0, False),
    Preferences("strict, 25% at once, 0% tolerance, sequential", 25, 0, False, strict=True),
    Preferences("25% at once, 25% tolerance, sequential", 25, 25, False),
    Preferences("100% at once, 100% tolerance, parallel", 100, 100, True),
)


def estimates(
    accounts: int, regions: int, apply_calls: int, stackset_calls: int, a: Assumptions
) -> list[Estimate]:
    return [sequential(accounts, regions, apply_calls, a)] + [
        stack_sets(accounts, regions, stackset_calls, prefs, a) for prefs in PREFERENCES
    ]


def duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"
