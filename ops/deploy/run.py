"""What both executors of the planner's steps share: the region they work in (clients,
console, watcher, tokens), the loop over the steps, and the change set calls both make
(`ops apply` executes its change set, `ops plan` only reads and deletes it).

A step is performed by the executor's `on_<kind>` method (`ops.deploy.execute.Perform`,
`ops.deploy.display.Show`); a step an executor has no method for is an AttributeError, never a
silent skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ops.deploy.bootstrap import Artifacts, Clients
from ops.deploy.events import Watcher
from ops.deploy.plan import (
    ChangeSetSummary,
    StackState,
    capabilities,
    stack_parameters,
    stack_tags,
    summarize,
)
from ops.deploy.recovery import Outcomes
from ops.deploy.request import StackRequest
from ops.deploy.steps import Refuse, Step
from ops.deploy.summary import Console, RegionResult, change_lines
from ops.errors import EXIT_FAILED, TimedOut

CHANGE_SET_PENDING = ("CREATE_PENDING", "CREATE_IN_PROGRESS")


def new_token(verb: str) -> str:
    """A ClientRequestToken / change set name: letters, digits and hyphens, letter first."""
    return f"ops-{verb}-{uuid.uuid4().hex}"


class Replan:
    """A `Recover` step ran: the stack is in another state now; read it and plan again."""


REPLAN = Replan()
Done = RegionResult | Replan | None  # a handler's answer: stop with it, plan again, or go on


@dataclass
class Region:
    """One region's clients and how to talk to the user there."""

    clients: Clients
    region: str
    console: Console
    watcher: Watcher
    confirm: Callable[[str], bool] = lambda _question: True
    endpoint_url: str | None = None
    token: Callable[[str], str] = new_token  # tokens and change set names; fixed in tests

    @property
    def cfn(self) -> Any:
        return self.clients.cfn

    @property
    def outcomes(self) -> Outcomes:
        return Outcomes(self.console, self.region)

    @property
    def artifacts(self) -> Artifacts:
        return Artifacts(self.clients, self.region, self.console, self.endpoint_url)


@dataclass
class Run:
    """One region's steps in order, each by the executor's `on_<kind>` method."""

    deployer: Region
    stack: str
    state: StackState
    request: StackRequest | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    location: Mapping[str, str] = field(default_factory=dict)
    summary: ChangeSetSummary | None = None

    @property
    def cfn(self) -> Any:
        return self.deployer.cfn

    @property
    def console(self) -> Console:
        return self.deployer.console

    @property
    def region(self) -> str:
        return self.deployer.region

    def run(self, steps: Sequence[Step]) -> RegionResult | Replan:
        for step in steps:
            self.records.append(step.to_dict())
            done: Done = getattr(self, "on_" + step.kind.replace("-", "_"))(step)
            if isinstance(done, RegionResult):
                return replace(done, steps=tuple(self.records))
            if done is not None:
                return done
        return replace(self.finished(), steps=tuple(self.records))

    def finished(self) -> RegionResult:
        raise NotImplementedError

    def on_refuse(self, step: Refuse) -> Done:
        return self.deployer.outcomes.refused(step.message, step.exit_code)

    def on_nothing_to_delete(self, _step: Step) -> Done:
        self.console.line(f"Stack {self.stack} does not exist in {self.region}: nothing to delete")
        return RegionResult(self.region, "nothing to delete")

    def template_location(self, create: bool) -> None:
        assert self.request is not None
        body, bucket = self.request.body, self.request.artifact_bucket
        self.location = {"TemplateURL": self.deployer.artifacts.template(body, bucket, create)}

    def create_change_set(self, kind: str) -> ChangeSetSummary:
        request = self.request
        assert request is not None
        name = self.deployer.token("changes")
        created = self.cfn.create_change_set(
            StackName=request.stack,
            ChangeSetName=name,
            ChangeSetType=kind,
            Capabilities=capabilities(request.template),
            Tags=stack_tags(request.stack, request.tags),
            Parameters=stack_parameters(request.template, request.parameters),
            Description="ops apply",
            ClientToken=name,
            **(self.location or {"TemplateBody": request.body}),
        )
        self.summary = self._wait_for_change_set(created["Id"])
        self.records[-1]["changes"] = [asdict(c) for c in self.summary.changes]
        return self.summary

    def _wait_for_change_set(self, change_set_id: str) -> ChangeSetSummary:
        """Poll DescribeChangeSet until it is ready. Our own loop rather than the
        `change_set_create_complete` waiter: the waiter ends FAILED ("no changes") in a
        WaiterError and needs another describe to page the changes; this reads each page once."""
        watcher = self.deployer.watcher
        start = watcher.clock()
        pause = 0.5  # change sets take seconds: ask early, then back off to 2 s (the CLI waits 5 s)
        while True:
            summary = summarize(self._change_set_pages(change_set_id))
            if summary.status not in CHANGE_SET_PENDING:
                return summary
            elapsed = watcher.clock() - start  # plan and apply are not silent meanwhile
            self.console.progress(
                f"{self.stack} in {self.region}: change set {summary.status}  {elapsed:.0f}s"
            )
            if watcher.clock() - start >= watcher.timeout:
                raise TimedOut(
                    f"change set {change_set_id} is still {summary.status} after "
                    f"{watcher.timeout:.0f}s; CloudFormation is still working on it"
                )
            watcher.sleep(min(pause, watcher.delay))
            pause = min(pause * 2, 2.0)

    def _change_set_pages(self, change_set_id: str) -> Any:
        return self.cfn.get_paginator("describe_change_set").paginate(ChangeSetName=change_set_id)

    def discard(self) -> None:
        """Delete our change set, and the empty REVIEW_IN_PROGRESS stack a CREATE one made."""
        assert self.summary is not None
        self.cfn.delete_change_set(ChangeSetName=self.summary.change_set_id)
        if not self.state.exists:
            self.cfn.delete_stack(StackName=self.stack)

    def unusable(self, summary: ChangeSetSummary) -> RegionResult | None:
        """An empty change set is success; any other failed one is CloudFormation's refusal;
        None for a change set with changes, which are then shown."""
        if summary.no_changes:
            self.console.line(f"{self.stack} in {self.region}: no changes")
            return RegionResult(self.region, "no changes")
        if summary.failed:
            self.console.line(f"CloudFormation rejected the change set: {summary.reason}")
            return RegionResult(self.region, "failed", EXIT_FAILED, summary.reason)
        for line in change_lines(self.stack, self.region, summary):
            self.console.line(line)
        return None
