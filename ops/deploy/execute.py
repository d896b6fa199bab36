"""`ops apply/plan/destroy` for one region: the only code that changes anything in AWS.

`Deployer` asks `plan` what the stack's state calls for, then makes the calls: the change set
(CREATE or UPDATE), its execution with a ClientRequestToken, the events watch, the clean-ups
(empty change sets, failed first creations, rollbacks to continue) and termination protection.

The change set is created before the artifact bucket is touched when the template fits inline:
CloudFormation does not read function code until execution, so an apply with no changes makes no
STS or S3 calls at all, and the bucket and uploads happen only when something will be executed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ops.deploy import bootstrap
from ops.deploy.events import EventFeed, Outcome, Watcher, in_progress
from ops.deploy.plan import (
    INLINE_TEMPLATE_LIMIT,
    Action,
    ChangeSetSummary,
    StackState,
    capabilities,
    code_keys,
    decide,
    delete_command,
    read_stack,
    stack_parameters,
    stack_tags,
    summarize,
)
from ops.deploy.request import StackRequest
from ops.deploy.summary import Console, RegionResult, change_lines, counts, failure_lines
from ops.errors import EXIT_FAILED, EXIT_TIMEOUT, TimedOut, UsageError

CHANGE_SET_PENDING = ("CREATE_PENDING", "CREATE_IN_PROGRESS")
MAX_SETTLE_ROUNDS = 3  # wait / recreate / continue-rollback, then the stack must be usable


@dataclass
class Clients:
    """The region's clients, given (tests) or made on first use by `factory` (the CLI's
    `AwsTarget.client`): an apply with no changes never needs S3 or STS, so never builds them."""

    cfn: Any
    _s3: Any = None
    _sts: Any = None
    factory: Callable[[str], Any] | None = None

    @property
    def s3(self) -> Any:
        if self._s3 is None and self.factory:
            self._s3 = self.factory("s3")
        return self._s3

    @property
    def sts(self) -> Any:
        if self._sts is None and self.factory:
            self._sts = self.factory("sts")
        return self._sts


def new_token(verb: str) -> str:
    """A ClientRequestToken / change set name: letters, digits and hyphens, letter first."""
    return f"ops-{verb}-{uuid.uuid4().hex}"


@dataclass
class Deployer:
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

    # ---- apply ---------------------------------------------------------------------------
    def apply(self, request: StackRequest) -> RegionResult:
        state = read_stack(self.cfn, request.stack, self.region)
        settled = self._settle(state, request)
        if isinstance(settled, RegionResult):
            return settled
        location = self._template_location(request, upload=True)
        summary = self._create_change_set(request, settled, location)
        if summary.no_changes or summary.failed:
            return self._drop_unusable(request, settled, summary)
        for line in change_lines(request.stack, self.region, summary):
            self.console.line(line)
        if not self.confirm(f"Execute these changes to {request.stack} in {self.region}?"):
            self._discard(request.stack, settled, summary)
            return RegionResult(self.region, "cancelled", EXIT_FAILED, "nothing was executed")
        self._upload_code(request)
        return self._execute(request, settled, summary)

    def _settle(self, state: StackState, request: StackRequest) -> StackState | RegionResult:
        """Bring the stack to a state a change set can be made for (or say why not)."""
        for _ in range(MAX_SETTLE_ROUNDS):
            decision = decide(state, continue_rollback=request.continue_rollback)
            if decision.action in (Action.CREATE, Action.UPDATE):
                return state
            if decision.action is Action.REFUSE:
                return self._refused(decision.message, decision.exit_code)
            self.console.line(decision.message or f"{decision.action.value}: {state.name}")
            outcome = self._unblock(decision.action, state, request)
            if outcome.timed_out:
                return self._timed_out(state.name, outcome)
            state = read_stack(self.cfn, request.stack, self.region)
            request = request.without_continue()
        return self._refused(f"stack {state.name} is still {state.status}; try again later")

    def _unblock(self, action: Action, state: StackState, request: StackRequest) -> Outcome:
        assert state.stack_id is not None
        if action is Action.WAIT:  # someone else's operation: all its events, no token
            return self.watcher.watch(
                EventFeed.starting_now(self.cfn, state.stack_id, None), "wait"
            )
        token = self.token("recover")
        feed = EventFeed.starting_now(self.cfn, state.stack_id, token)
        if action is Action.RECREATE:
            self.cfn.delete_stack(StackName=state.stack_id, ClientRequestToken=token)
        else:
            self.cfn.continue_update_rollback(
                StackName=state.stack_id,
                ResourcesToSkip=list(request.skip_resources),
                ClientRequestToken=token,
            )
        return self.watcher.watch(feed, action.value)

    def _template_location(self, request: StackRequest, upload: bool) -> dict[str, str]:
        body = request.body
        if len(body.encode()) <= INLINE_TEMPLATE_LIMIT:
            return {"TemplateBody": body}
        bucket = self._bucket(request, create=upload)
        url = bootstrap.upload_template(bucket, body, self.endpoint_url)
        return {"TemplateURL": url}

    def _bucket(self, request: StackRequest, create: bool) -> bootstrap.ArtifactBucket:
        account = bootstrap.account_id(self.clients.sts)
        name = bootstrap.bucket_name(request.artifact_bucket, account, self.region)
        bucket = bootstrap.ArtifactBucket(self.clients.s3, name, account, self.region)
        if create:
            bucket.ensure(self.console)
        elif not bucket.exists():
            raise UsageError(
                f"the template is over {INLINE_TEMPLATE_LIMIT:,} bytes and must be read from the "
                f"artifact bucket {name}, which does not exist yet: run ops apply first"
            )
        return bucket

    def _upload_code(self, request: StackRequest) -> None:
        keys = code_keys(request.template)
        if keys:
            bootstrap.upload_code(self._bucket(request, create=True), keys, self.console)

    def _create_change_set(
        self, request: StackRequest, state: StackState, location: Mapping[str, str]
    ) -> ChangeSetSummary:
        kind = "UPDATE" if state.exists and state.status != "REVIEW_IN_PROGRESS" else "CREATE"
        name = self.token("changes")
        created = self.cfn.create_change_set(
            StackName=request.stack,
            ChangeSetName=name,
            ChangeSetType=kind,
            Capabilities=capabilities(request.template),
            Tags=stack_tags(request.stack, request.tags),
            Parameters=stack_parameters(request.template, request.parameters),
            Description="ops apply",
            ClientToken=name,
            **location,
        )
        return self._wait_for_change_set(created["Id"])

    def _wait_for_change_set(self, change_set_id: str) -> ChangeSetSummary:
        """Poll DescribeChangeSet until it is ready. Our own loop rather than the
        `change_set_create_complete` waiter: the waiter ends FAILED ("no changes") in a
        WaiterError and needs another describe to page the changes; this reads each page once."""
        start = self.watcher.clock()
        pause = 0.5  # change sets take seconds: ask early, then back off to 2 s (the CLI waits 5 s)
        while True:
            summary = summarize(self._change_set_pages(change_set_id))
            if summary.status not in CHANGE_SET_PENDING:
                return summary
            if self.watcher.clock() - start >= self.watcher.timeout:
                raise TimedOut(
                    f"change set {change_set_id} is still {summary.status} after "
                    f"{self.watcher.timeout:.0f}s; CloudFormation is still working on it"
                )
            self.watcher.sleep(min(pause, self.watcher.delay))
            pause = min(pause * 2, 2.0)

    def _change_set_pages(self, change_set_id: str) -> Any:
        return self.cfn.get_paginator("describe_change_set").paginate(ChangeSetName=change_set_id)

    def _drop_unusable(
        self, request: StackRequest, state: StackState, summary: ChangeSetSummary
    ) -> RegionResult:
        """An empty change set is success; any other failed one is CloudFormation's refusal."""
        self._discard(request.stack, state, summary)
        if summary.no_changes:
            self.console.line(f"{request.stack} in {self.region}: no changes")
            return RegionResult(self.region, "no changes")
        self.console.line(f"CloudFormation rejected the change set: {summary.reason}")
        return RegionResult(self.region, "failed", EXIT_FAILED, summary.reason)

    def _discard(self, stack: str, state: StackState, summary: ChangeSetSummary) -> None:
        """Delete our change set, and the empty REVIEW_IN_PROGRESS stack a CREATE one made."""
        self.cfn.delete_change_set(ChangeSetName=summary.change_set_id)
        if not state.exists:
            self.cfn.delete_stack(StackName=stack)

    def _execute(
        self, request: StackRequest, state: StackState, summary: ChangeSetSummary
    ) -> RegionResult:
        from botocore.exceptions import ClientError
        from botocore.parsers import ResponseParserError

        stack_id = summary.stack_id or request.stack
        token = self.token("apply")
        feed = EventFeed.starting_now(self.cfn, stack_id, token)
        if summary.created and (feed.since is None or summary.created > feed.since):
            feed.since = summary.created  # the server's clock, never ours
        try:
            self.cfn.execute_change_set(
                ChangeSetName=summary.change_set_id, ClientRequestToken=token
            )
        except (ClientError, ResponseParserError) as exc:
            # moto's CloudFormation reports a resource it could not create as an error of this
            # call (in JSON, which botocore cannot parse as a query-protocol error).
            return self._rejected(request.stack, exc)
        outcome = self.watcher.watch(feed, f"{request.stack} {self.region}")
        return self._result(request, state, summary, outcome, stack_id)

    def _result(
        self,
        request: StackRequest,
        state: StackState,
        summary: ChangeSetSummary,
        outcome: Outcome,
        stack_id: str,
    ) -> RegionResult:
        if outcome.timed_out:
            return self._timed_out(request.stack, outcome)
        if outcome.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"):
            created = outcome.status == "CREATE_COMPLETE"
            if created and request.termination_protection:
                self._protect(stack_id)
            verb = "created" if created else "updated"
            self.console.line(f"{request.stack} in {self.region}: {outcome.status}")
            return RegionResult(self.region, verb, 0, counts(summary.changes))
        return self._failed(request.stack, outcome)

    def _protect(self, stack_id: str) -> None:
        # A change set cannot set termination protection: it is its own call, after creation.
        self.cfn.update_termination_protection(StackName=stack_id, EnableTerminationProtection=True)
        self.console.line("Termination protection turned on")

    # ---- outcomes --------------------------------------------------------------------------
    def _refused(self, message: str, exit_code: int = EXIT_FAILED) -> RegionResult:
        for line in message.splitlines():
            self.console.line(line)
        return RegionResult(self.region, "refused", exit_code, message.splitlines()[0])

    def _timed_out(self, stack: str, outcome: Outcome) -> RegionResult:
        self.console.line(
            f"Stopped watching: stack {stack} in {self.region} is still {outcome.status}. "
            "CloudFormation is still working - this is not a failure. Follow it with "
            f"`ops status --region {self.region}` and run ops again once it has finished."
        )
        return RegionResult(self.region, "timed out", EXIT_TIMEOUT, f"still {outcome.status}")

    def _failed(self, stack: str, outcome: Outcome) -> RegionResult:
        self.console.line(f"Stack {stack} in {self.region} failed: {outcome.status}")
        if outcome.failures:
            self.console.line("What failed:")
            for line in failure_lines(outcome.failures):
                self.console.line(line)
        elif outcome.reason:
            self.console.line(f"Reason: {outcome.reason}")
        self.console.line(next_step(stack, self.region, outcome.status))
        first = outcome.failures[0][2] if outcome.failures else outcome.reason or outcome.status
        return RegionResult(self.region, "failed", EXIT_FAILED, first)

    def _rejected(self, stack: str, exc: Exception) -> RegionResult:
        reason = error_text(exc)
        self.console.line(f"CloudFormation rejected the change to {stack}: {reason}")
        state = read_stack(self.cfn, stack, self.region)
        self.console.line(f"Stack status: {state.status or 'does not exist'}")
        return RegionResult(self.region, "failed", EXIT_FAILED, reason)

    # ---- plan and destroy ------------------------------------------------------------------
    def plan(self, request: StackRequest) -> RegionResult:
        """The change set summary, then the change set deleted: nothing executed."""
        state = read_stack(self.cfn, request.stack, self.region)
        decision = decide(state)
        if decision.action not in (Action.CREATE, Action.UPDATE):
            self.console.line(decision.message)
            code = decision.exit_code if decision.action is Action.REFUSE else 0
            return RegionResult(self.region, f"apply would {decision.action.value}", code)
        summary = self._create_change_set(
            request, state, self._template_location(request, upload=False)
        )
        self._discard(request.stack, state, summary)
        if summary.no_changes:
            self.console.line(f"{request.stack} in {self.region}: no changes")
            return RegionResult(self.region, "no changes")
        if summary.failed:
            self.console.line(f"CloudFormation rejected the change set: {summary.reason}")
            return RegionResult(self.region, "failed", EXIT_FAILED, summary.reason)
        for line in change_lines(request.stack, self.region, summary):
            self.console.line(line)
        return RegionResult(self.region, "planned", 0, counts(summary.changes))

    def destroy(self, stack: str) -> RegionResult:
        state = read_stack(self.cfn, stack, self.region)
        if not state.exists:
            self.console.line(f"Stack {stack} does not exist in {self.region}: nothing to delete")
            return RegionResult(self.region, "nothing to delete")
        if state.termination_protection:
            return self._refused(
                f"stack {stack} in {self.region} has termination protection on; turn it off "
                "first (and set stack.termination_protection = false in the config):\n"
                "  aws cloudformation update-termination-protection "
                f"--no-enable-termination-protection --stack-name {stack} --region {self.region}"
            )
        if state.busy:
            return self._refused(
                f"stack {stack} in {self.region} is {state.status}; run ops destroy when it ends"
            )
        if not self.confirm(f"Delete stack {stack} in {self.region} and everything in it?"):
            return RegionResult(self.region, "cancelled", EXIT_FAILED, "nothing was deleted")
        return self._delete(state)

    def _delete(self, state: StackState) -> RegionResult:
        assert state.stack_id is not None
        token = self.token("destroy")
        feed = EventFeed.starting_now(self.cfn, state.stack_id, token)
        self.cfn.delete_stack(StackName=state.stack_id, ClientRequestToken=token)
        outcome = self.watcher.watch(feed, f"delete {state.name} {self.region}")
        if outcome.timed_out:
            return self._timed_out(state.name, outcome)
        if outcome.status == "DELETE_COMPLETE":
            self.console.line(f"Stack {state.name} in {self.region}: deleted")
            return RegionResult(self.region, "deleted")
        return self._failed(state.name, outcome)


def error_text(exc: Exception) -> str:
    """`Code: message` of an AWS error, also from a JSON body botocore could not parse."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}"
    found = re.search(r'"__type": "([^"]+)", "message": "([^"]*)"', str(exc))
    return f"{found.group(1)}: {found.group(2)}" if found else str(exc)


def next_step(stack: str, region: str, status: str) -> str:
    """What to do after a failed operation, by the state it left the stack in."""
    if status == "ROLLBACK_COMPLETE":
        return (
            "Next: fix the cause above and run ops apply again; ops deletes the failed stack "
            "first (it carries the ops ownership tag)."
        )
    if status == "UPDATE_ROLLBACK_COMPLETE":
        return "Next: the stack is back as it was; fix the cause above and run ops apply again."
    if status == "UPDATE_ROLLBACK_FAILED":
        return (
            "Next: fix the cause above, then run ops apply --continue-rollback "
            "(with --skip-resource LOGICAL_ID for resources that cannot roll back)."
        )
    if status == "DELETE_FAILED":
        return (
            "Next: empty or remove what is named above (a bucket must be empty to be deleted), "
            f"then run ops destroy --region {region} again; or keep those resources with\n"
            f"  aws cloudformation delete-stack --stack-name {stack} --region {region} "
            "--retain-resources LOGICAL_ID ..."
        )
    if in_progress(status):
        return f"Next: follow it with ops status --region {region}."
    return f"Next: fix the cause above; if ops apply cannot continue, {_delete_hint(stack, region)}"


def _delete_hint(stack: str, region: str) -> str:
    return "delete the stack with: " + delete_command(StackState(name=stack, region=region))
