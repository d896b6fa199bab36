"""Watch one CloudFormation operation: its stack events, one line each, until it ends.

Events are filtered by the operation's ClientRequestToken and de-duplicated by EventId, and only
events from the server's clock onwards are shown (the newest event before we started, or the
change set's CreationTime) - never the local clock, which may be skewed (Sceptre #1273).
Events without a token (moto, or operations started without one) are accepted from that point
on: CloudFormation runs one operation per stack at a time, so after our start they are ours.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ops.deploy.summary import Console, event_line

STACK_TYPE = "AWS::CloudFormation::Stack"
# CloudFormation's follow-on failures: the resource was fine, another one failed first.
CANCELLED = ("Resource creation cancelled", "Resource update cancelled")


def in_progress(status: str | None) -> bool:
    return bool(status) and str(status).endswith("_IN_PROGRESS")


@dataclass
class EventFeed:
    """The new events of one operation, oldest first, each exactly once."""

    cfn: Any
    stack_id: str
    token: str | None = None
    since: datetime | None = None
    seen: set[str] = field(default_factory=set)

    @classmethod
    def starting_now(cls, cfn: Any, stack_id: str, token: str | None) -> EventFeed:
        """Everything already there is history: remember it and its newest timestamp."""
        page = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
        since = max((e["Timestamp"] for e in page), default=None)
        return cls(cfn, stack_id, token, since, {e["EventId"] for e in page})

    def poll(self) -> list[dict[str, Any]]:
        fresh: list[dict[str, Any]] = []
        pages = self.cfn.get_paginator("describe_stack_events").paginate(StackName=self.stack_id)
        for page in pages:
            events = page["StackEvents"]  # newest first
            fresh += [e for e in events if self._ours(e)]
            if any(e["EventId"] in self.seen or self._before(e) for e in events):
                break  # older pages hold history only
        self.seen.update(e["EventId"] for e in fresh)
        return sorted(fresh, key=lambda e: e["Timestamp"])

    def _ours(self, event: dict[str, Any]) -> bool:
        token = event.get("ClientRequestToken")
        return (
            event["EventId"] not in self.seen
            and not self._before(event)
            and (token is None or self.token is None or token == self.token)
        )

    def _before(self, event: dict[str, Any]) -> bool:
        return self.since is not None and event["Timestamp"] < self.since


@dataclass
class Outcome:
    """How the watched operation ended (or that we stopped watching while it ran)."""

    status: str
    reason: str = ""
    timed_out: bool = False
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (logical id, type, why)


@dataclass
class Watcher:
    """Polls events and the stack status until the operation ends or `timeout` seconds pass."""

    console: Console
    timeout: float
    delay: float = 3.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def watch(self, feed: EventFeed, label: str) -> Outcome:
        start = self.clock()
        failed: list[dict[str, Any]] = []
        count = 0
        while True:
            events = feed.poll()
            for event in events:
                self.console.line(event_line(event))
            failed += [e for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")]
            count += len(events)
            status, reason = stack_status(feed.cfn, feed.stack_id)
            if not in_progress(status):
                return self._finish(feed, status, reason, failed)
            elapsed = self.clock() - start
            if elapsed >= self.timeout:
                return Outcome(status, reason, timed_out=True, failures=root_causes(failed))
            self.console.progress(f"{label}: {status}  {count} events  {elapsed:.0f}s")
            self.sleep(self.delay)

    def _finish(
        self, feed: EventFeed, status: str, reason: str, failed: list[dict[str, Any]]
    ) -> Outcome:
        # The last events can land between our event poll and the status read.
        for event in feed.poll():
            self.console.line(event_line(event))
            if str(event.get("ResourceStatus", "")).endswith("_FAILED"):
                failed.append(event)
        return Outcome(status, reason, failures=root_causes(failed))


def stack_status(cfn: Any, stack_id: str) -> tuple[str, str]:
    [stack] = cfn.describe_stacks(StackName=stack_id)["Stacks"]
    return stack["StackStatus"], stack.get("StackStatusReason", "")


def root_causes(failed: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Each failed resource's own reason, skipping the follow-on "cancelled" failures and the
    stack's summary line ("The following resource(s) failed...")."""
    causes: list[tuple[str, str, str]] = []
    for event in failed:
        reason = event.get("ResourceStatusReason") or "(no reason given)"
        if event.get("ResourceType") == STACK_TYPE or any(c in reason for c in CANCELLED):
            continue
        cause = (event["LogicalResourceId"], event.get("ResourceType", ""), reason)
        if cause not in causes:
            causes.append(cause)
    return causes
