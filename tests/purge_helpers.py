"""What the tests of the paced purge targets (lambda-versions, ebs-snapshots, log-streams) share:
a fake clock, injected AWS errors, a moto client wrapper that logs calls and injects faults, and
one way to run a target at a fixed time."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from functions.purge.handler import settings_of
from functions.purge.report import PurgeReport
from functions.runtime.budget import TimeBudget
from ops.config import parse_config
from templates.jobs import ops_job_value, purge_job

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
NO_CAPS = {"max_deletes": 0, "max_delete_percent": 0}  # 0 is "no limit": rendered as null


def job_for(**item: Any) -> dict[str, Any]:
    """`$OPS_JOB` as rendered for one `[[purge]]` table (on an hourly schedule, no caps unless
    `item` sets them), parsed back from its JSON as the function reads it."""
    table = {"schedule": "rate(1 hour)", **NO_CAPS, **item}
    config = parse_config({"stack": {"name": "acme-ops"}, "purge": [table]}, Path("t.toml"))
    [job] = config.purge
    parsed: dict[str, Any] = json.loads(ops_job_value(purge_job(job)))
    return parsed


DAY = timedelta(days=1)


class FakeClock:
    """Time that only moves when someone sleeps: rates measured without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def budget(self, seconds: float) -> TimeBudget:
        """A time budget that runs out `seconds` of this clock's time from now."""
        deadline = self.now + seconds
        return TimeBudget(lambda: int((deadline - self.now) * 1000), reserve_seconds=0)


def error(code: str, status: int = 400, message: str | None = None) -> ClientError:
    body = {"Error": {"Code": code, "Message": message or f"injected {code}"}}
    return ClientError({**body, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


class FaultyClient:
    """A moto client whose every call is logged (with the fake time, if there is a clock).

    `throttle[method]` throttles that many calls of `method` with the service's own throttling
    error (`THROTTLE`); `broken[item]` is the error (a code, or a ClientError) that a subclass's
    delete call raises for `item` through `fail_if_broken`.
    """

    THROTTLE: tuple[str, int] = ("ThrottlingException", 400)

    def __init__(self, real: Any, clock: FakeClock | None = None) -> None:
        self.real, self.clock = real, clock
        self.throttle: Counter[str] = Counter()  # method -> throttles still to inject
        self.broken: dict[Any, str | ClientError] = {}
        self.calls: list[str] = []
        self.times: list[float] = []  # the fake time of each call

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def call(**params: Any) -> Any:
            self.record(name)
            return method(**params)

        return call

    def record(self, name: str) -> None:
        self.calls.append(name)
        self.times.append(self.clock.now if self.clock else 0.0)
        if self.throttle[name]:
            self.throttle[name] -= 1
            raise error(*self.THROTTLE)

    def fail_if_broken(self, item: Any) -> None:
        broken = self.broken.get(item)
        if broken:
            raise error(broken) if isinstance(broken, str) else broken


def run_target(
    run: Callable[..., PurgeReport],
    job: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    *,
    budget: TimeBudget | None = None,
    event: dict[str, Any] | None = None,
    clock: FakeClock | None = None,
    **kw: Any,
) -> PurgeReport:
    """A target's `run` at NOW: ten minutes, no cursor and a fresh fake clock unless given."""
    return run(
        settings_of({**job, **(overrides or {})}),
        now=NOW,
        budget=TimeBudget.seconds(600) if budget is None else budget,
        event=event or {},
        clock=clock or FakeClock(),
        **kw,
    )
