"""`ops apply/destroy` for one region: the executor, the only code that changes anything in AWS.

`Deployer` reads the stack, asks the planner (`ops.deploy.steps`) for the steps its state calls
for and performs them: the change set (CREATE or UPDATE), its execution with a
ClientRequestToken, the events watch, the clean-ups (empty change sets, failed first creations,
rollbacks to continue) and termination protection. `Deployer.plan` and `plan_destroy` hand the
same steps to the display-only executor (`ops.deploy.display`) instead.

The change set is created before the artifact bucket is touched when the template fits inline:
CloudFormation does not read function code until execution, so an apply with no changes makes no
STS or S3 calls at all, and the bucket and uploads happen only when something will be executed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ops.deploy.bootstrap import Clients
from ops.deploy.display import Show
from ops.deploy.events import EventFeed
from ops.deploy.plan import read_stack
from ops.deploy.recovery import unblock
from ops.deploy.request import StackRequest
from ops.deploy.run import REPLAN, Done, Region, Replan, Run, new_token
from ops.deploy.steps import (
    ChangeSet,
    Confirm,
    Delete,
    Recover,
    Step,
    UploadCode,
    UploadTemplate,
    plan_apply,
    plan_destroy,
)
from ops.deploy.summary import RegionResult, counts
from ops.errors import EXIT_FAILED

__all__ = ["Clients", "Deployer", "new_token"]  # what the CLI and tests build a region from
MAX_SETTLE_ROUNDS = 3  # wait / recreate / continue-rollback, then the stack must be usable
EXECUTED = {
    "CREATE_COMPLETE": "created",
    "UPDATE_COMPLETE": "updated",
    "IMPORT_COMPLETE": "updated",
}
DELETED = {"DELETE_COMPLETE": "deleted"}


@dataclass
class Deployer(Region):
    """`ops apply/destroy` (the steps performed) and `ops plan` (the same steps shown) in one
    region."""

    def apply(self, request: StackRequest) -> RegionResult:
        records: list[dict[str, Any]] = []
        for _ in range(MAX_SETTLE_ROUNDS + 1):
            state = read_stack(self.cfn, request.stack, self.region)
            done = Perform(self, request.stack, state, request, records).run(
                plan_apply(state, request)
            )
            if isinstance(done, RegionResult):
                return done
            request = request.without_continue()
        message = f"stack {state.name} is still {state.status}; try again later"
        return replace(self.outcomes.refused(message), steps=tuple(records))

    def destroy(self, stack: str) -> RegionResult:
        state = read_stack(self.cfn, stack, self.region)
        return _final(Perform(self, stack, state).run(plan_destroy(state)))

    def plan(self, request: StackRequest) -> RegionResult:
        """What apply would do: the change set summarised, then deleted; nothing executed."""
        state = read_stack(self.cfn, request.stack, self.region)
        return _final(Show(self, request.stack, state, request).run(plan_apply(state, request)))

    def plan_destroy(self, stack: str) -> RegionResult:
        state = read_stack(self.cfn, stack, self.region)
        return _final(Show(self, stack, state).run(plan_destroy(state)))


def _final(done: RegionResult | Replan) -> RegionResult:
    assert isinstance(done, RegionResult), "only Perform's apply loop plans again"
    return done


@dataclass
class Perform(Run):
    """The executor of `ops apply` and `ops destroy`: every step's calls, for real."""

    verb: str = ""

    def finished(self) -> RegionResult:
        changes = counts(self.summary.changes) if self.summary else ""
        return RegionResult(self.region, self.verb, 0, changes)

    def on_recover(self, step: Recover) -> Done:
        self.console.line(step.message)
        deployer = self.deployer
        outcome = unblock(self.cfn, deployer.watcher, deployer.token, step)
        if outcome.timed_out:
            return deployer.outcomes.timed_out(self.stack, outcome)
        return REPLAN

    def on_upload_template(self, _step: UploadTemplate) -> Done:
        self.template_location(create=True)
        return None

    def on_change_set(self, step: ChangeSet) -> Done:
        summary = self.create_change_set(step.type)
        if summary.no_changes or summary.failed:
            self.discard()
        return self.unusable(summary)

    def on_confirm(self, step: Confirm) -> Done:
        if self.deployer.confirm(step.question):
            return None
        if self.summary is not None:
            self.discard()
        return RegionResult(self.region, "cancelled", EXIT_FAILED, step.declined)

    def on_upload_code(self, step: UploadCode) -> Done:
        assert self.request is not None
        self.deployer.artifacts.code(list(step.keys), self.request.artifact_bucket)
        return None

    def on_execute(self, _step: Step) -> Done:
        from botocore.exceptions import ClientError
        from botocore.parsers import ResponseParserError

        assert self.summary is not None
        summary, deployer = self.summary, self.deployer
        token = deployer.token("apply")
        feed = EventFeed.starting_now(self.cfn, summary.stack_id or self.stack, token)
        if summary.created and (feed.since is None or summary.created > feed.since):
            feed.since = summary.created  # the server's clock, never ours
        try:
            self.cfn.execute_change_set(
                ChangeSetName=summary.change_set_id, ClientRequestToken=token
            )
        except (ClientError, ResponseParserError) as exc:
            # moto's CloudFormation reports a resource it could not create as an error of this
            # call (in JSON, which botocore cannot parse as a query-protocol error).
            return deployer.outcomes.rejected(self.cfn, self.stack, exc)
        return self._watched(feed, "", EXECUTED)

    def on_protect(self, _step: Step) -> Done:
        assert self.summary is not None
        stack_id = self.summary.stack_id or self.stack
        self.cfn.update_termination_protection(StackName=stack_id, EnableTerminationProtection=True)
        self.console.line("Termination protection turned on")
        return None

    def on_delete(self, step: Delete) -> Done:
        token = self.deployer.token("destroy")
        feed = EventFeed.starting_now(self.cfn, step.stack_id, token)
        self.cfn.delete_stack(StackName=step.stack_id, ClientRequestToken=token)
        return self._watched(feed, "delete ", DELETED)

    def _watched(self, feed: EventFeed, label: str, verbs: Mapping[str, str]) -> Done:
        """Watch the operation: None when it ended in one of `verbs`' statuses (its verb kept
        for the summary), else the region's result (timed out, failed)."""
        outcome = self.deployer.watcher.watch(feed, f"{label}{self.stack} {self.region}")
        if outcome.timed_out:
            return self.deployer.outcomes.timed_out(self.stack, outcome)
        if outcome.status not in verbs:
            return self.deployer.outcomes.failed(self.stack, outcome)
        self.verb = verbs[outcome.status]
        self.console.line(f"Stack {self.stack} in {self.region}: {self.verb} ({outcome.status})")
        return None
