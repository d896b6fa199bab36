"""Property tests of the purge guard rails, through the handler: whatever sequence of schedules,
hand-offs (genuine, tampered or replayed), foreign events, new writes and clock moves arrives,
no invocation deletes past `max_deletes` / `max_delete_percent`, no chain of genuine hand-offs
does either, and nothing is deleted that is not older than the clock's cutoff.

The target is `ebs-snapshots` on an in-memory EC2 (listing, deleting) and a fake clock, so an
example takes milliseconds; the caps and continuation code it exercises are shared by every
plan-then-delete target (`planning.py`, `continuation.py`, `trigger.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.purge.continuation import KEY
from functions.purge.handler import PurgeFailed, run_job, settings_of
from tests.purge_helpers import NOW, FakeClock

OLDER_THAN = timedelta(hours=1)
TAGS = {"purge": "yes"}


class MemoryEC2:
    """DescribeImages (none), DescribeSnapshots (one page) and DeleteSnapshot on a dict."""

    def __init__(self) -> None:
        self.snapshots: dict[str, datetime] = {}
        self.wall = NOW  # the clock of the invocation under way
        self.deleted: list[tuple[str, datetime, datetime]] = []  # id, started, deleted at

    def describe_images(self, **_: Any) -> dict[str, Any]:
        return {"Images": []}

    def describe_snapshots(self, **_: Any) -> dict[str, Any]:
        tags = [{"Key": k, "Value": v} for k, v in TAGS.items()]
        return {
            "Snapshots": [
                {"SnapshotId": i, "StartTime": t, "State": "completed", "Tags": tags}
                for i, t in sorted(self.snapshots.items())
            ]
        }

    def delete_snapshot(self, SnapshotId: str) -> dict[str, Any]:
        self.deleted.append((SnapshotId, self.snapshots.pop(SnapshotId), self.wall))
        return {}


class Invocations:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        self.payloads.append(json.loads(Payload))
        return {"StatusCode": 202}


@dataclass
class Context:
    clock: FakeClock
    seconds: float
    function_name: str = "acme-ops-purge-snaps"
    aws_request_id: str = "req"
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = self.clock.now + self.seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - self.clock.now + 10) * 1000)  # + the handler's reserve


FOREIGN = [
    {"Records": [{"eventSource": "aws:s3"}]},
    {"awslogs": {"data": "x"}},
    {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"},
    {"cursor": json.dumps({"deleted": -100})},
]

tamper = st.one_of(
    st.tuples(st.just("deleted"), st.integers(-50, 50)),
    st.tuples(st.just("hop"), st.integers(-1, 12)),
    st.tuples(st.just("cutoff"), st.integers(-3 * 86400, 400 * 86400)),  # seconds from the clock
    st.tuples(st.just("settings"), st.text("0123456789abcdef", min_size=32, max_size=32)),
    st.tuples(st.just("replay"), st.none()),
)
action = st.one_of(
    st.tuples(st.just("schedule"), st.floats(0.1, 3.0)),
    st.tuples(st.just("hand-off"), st.floats(0.1, 3.0), st.none() | tamper),
    st.tuples(st.just("foreign"), st.sampled_from(FOREIGN)),
    st.tuples(st.just("write"), st.integers(1, 6), st.integers(0, 3 * 3600)),
    st.tuples(st.just("wait"), st.integers(1, 3 * 3600)),
)
job_settings = st.fixed_dictionaries(
    {
        "max_deletes": st.none() | st.integers(1, 8),
        "max_delete_percent": st.none() | st.integers(0, 100),
        "max_hops": st.integers(1, 4),
    }
)


@dataclass
class Chain:
    """The invocations of one scheduled run and its untampered hand-offs."""

    genuine: bool
    deleted: int = 0
    seen: set[str] = field(default_factory=set)  # every snapshot any of its hops could list


class World:
    def __init__(self, caps: dict[str, Any]) -> None:
        self.job = {
            "name": "snaps",
            "target": "ebs-snapshots",
            "older_than": int(OLDER_THAN.total_seconds()),
            "tags": TAGS,
            "on_timeout": "continue",
            "dry_run": False,
            **caps,
        }
        self.ec2, self.lam, self.clock = MemoryEC2(), Invocations(), FakeClock()
        self.wall, self.serial = NOW, 0
        self.chains: list[Chain] = []
        self.pending: tuple[dict[str, Any], Chain] | None = None  # the last hand-off, unused
        self.last: tuple[dict[str, Any], Chain] | None = None  # the last hand-off, for replays

    def write(self, count: int, age: int) -> None:
        for _ in range(count):
            self.serial += 1
            self.ec2.snapshots[f"snap-{self.serial:05d}"] = self.wall - timedelta(seconds=age)

    def invoke(self, event: Any, seconds: float, chain: Chain | None) -> None:
        """Run `event`; `chain` is the genuine chain it continues or starts, None otherwise."""
        before, present = len(self.ec2.deleted), set(self.ec2.snapshots)
        handed = len(self.lam.payloads)
        self.ec2.wall = self.wall
        clients = {"ec2_client": self.ec2, "clock": self.clock}
        context = Context(self.clock, seconds)
        try:
            result = run_job(
                settings_of(self.job),
                event,
                context,
                now=self.wall,
                lambda_client=self.lam,
                clients=clients,
            )
        except PurgeFailed:  # capped: reported, then raised
            result = {"status": "capped"}
        done = len(self.ec2.deleted) - before
        self.check_invocation(event, result, done, len(present))
        if result["status"] == "rejected":
            return
        own = chain or Chain(genuine=False)
        own.deleted += done
        own.seen |= present
        self.chains.append(own)
        if len(self.lam.payloads) > handed:
            self.pending = self.last = (self.lam.payloads[-1], own)

    def check_invocation(self, event: Any, result: dict, done: int, listed: int) -> None:
        assert result["status"] != "rejected" or done == 0
        prior = 0
        if isinstance(event, dict) and KEY in event and result["status"] != "rejected":
            prior = json.loads(event["cursor"]).get("deleted", 0)
            assert isinstance(prior, int) and prior >= 0  # a negative count was refused
        if self.job["max_deletes"] is not None:
            assert done <= max(0, self.job["max_deletes"] - prior)
        if self.job["max_delete_percent"] is not None:
            room = (listed + prior) * self.job["max_delete_percent"] // 100 - prior
            assert done <= max(0, room)

    def check_chains(self) -> None:
        for chain in {id(c): c for c in self.chains if c.genuine}.values():
            if self.job["max_deletes"] is not None:
                assert chain.deleted <= self.job["max_deletes"]
            if self.job["max_delete_percent"] is not None:
                assert chain.deleted <= len(chain.seen) * self.job["max_delete_percent"] // 100

    def check_ages(self) -> None:
        for _, started, at in self.ec2.deleted:
            assert started < at - OLDER_THAN  # strictly older than the clock's cutoff

    def step(self, act: tuple) -> None:
        kind = act[0]
        if kind == "schedule":
            self.invoke({}, act[1], Chain(genuine=True))
        elif kind == "hand-off":
            self.hand_off(act[1], act[2])
        elif kind == "foreign":
            self.invoke(act[1], 1.0, None)
        elif kind == "write":
            self.write(act[1], act[2])
        else:
            self.wall += timedelta(seconds=act[1])
            self.clock.now += act[1]

    def hand_off(self, seconds: float, change: tuple[str, Any] | None) -> None:
        if change and change[0] == "replay":
            if self.last:  # delivered again: a forged event as far as the caps can tell
                self.invoke(self.last[0], seconds, None)
            return
        if self.pending is None:
            return
        (event, chain), self.pending = self.pending, None
        if change is None:
            self.invoke(event, seconds, chain)
            return
        self.invoke(tampered(event, change, self.wall), seconds, None)


def tampered(event: dict[str, Any], change: tuple[str, Any], wall: datetime) -> dict[str, Any]:
    name, value = change
    block, cursor = dict(event[KEY]), json.loads(event["cursor"])
    if name == "deleted":
        cursor["deleted"] = value
    elif name == "cutoff":
        block["cutoff"] = (wall + timedelta(seconds=value)).isoformat()
    else:
        block[name] = value
    return {"cursor": json.dumps(cursor), KEY: block}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    caps=job_settings,
    start=st.lists(st.tuples(st.integers(1, 8), st.integers(0, 3 * 3600)), max_size=3),
    actions=st.lists(action, min_size=1, max_size=12),
)
def test_no_sequence_of_events_deletes_past_a_cap_or_anything_too_young(
    caps: dict[str, Any], start: list[tuple[int, int]], actions: list[tuple]
) -> None:
    world = World(caps)
    for count, age in start:
        world.write(count, age)
    for act in actions:
        world.step(act)
        world.check_ages()
    world.check_chains()
