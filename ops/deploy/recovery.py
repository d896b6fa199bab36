"""Getting a stack out of the way of a change set, and saying how an operation ended.

`unblock` performs a `Recover` step (wait for someone else's operation, delete a failed first
creation, continue a failed rollback). `Outcomes` turns each way an operation can end (refused,
timed out, failed, rejected) into the lines the user reads and the region's `RegionResult`,
with the next thing to do for the state the stack was left in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ops.deploy.events import EventFeed, Outcome, Watcher, in_progress
from ops.deploy.plan import Action, StackState, delete_command, read_stack
from ops.deploy.steps import Recover
from ops.deploy.summary import Console, RegionResult, failure_lines
from ops.errors import EXIT_FAILED, EXIT_TIMEOUT


def unblock(cfn: Any, watcher: Watcher, token: Callable[[str], str], step: Recover) -> Outcome:
    """The calls of a `Recover` step, watched to their end (or the timeout)."""
    action = Action(step.action)
    if action is Action.WAIT:  # someone else's operation: all its events, no token
        return watcher.watch(EventFeed.starting_now(cfn, step.stack_id, None), "wait")
    request_token = token("recover")
    feed = EventFeed.starting_now(cfn, step.stack_id, request_token)
    if action is Action.RECREATE:
        cfn.delete_stack(StackName=step.stack_id, ClientRequestToken=request_token)
    else:
        cfn.continue_update_rollback(
            StackName=step.stack_id,
            ResourcesToSkip=list(step.skip_resources),
            ClientRequestToken=request_token,
        )
    return watcher.watch(feed, action.value)


@dataclass
class Outcomes:
    """How an operation in `region` ended, told on `console` and returned as its result."""

    console: Console
    region: str

    def refused(self, message: str, exit_code: int = EXIT_FAILED) -> RegionResult:
        for line in message.splitlines():
            self.console.line(line)
        return RegionResult(self.region, "refused", exit_code, message.splitlines()[0])

    def timed_out(self, stack: str, outcome: Outcome) -> RegionResult:
        self.console.line(
            f"Stopped watching: stack {stack} in {self.region} is still {outcome.status}. "
            "CloudFormation is still working - this is not a failure. Follow it with "
            f"`ops status --region {self.region}` and run ops again once it has finished."
        )
        return RegionResult(self.region, "timed out", EXIT_TIMEOUT, f"still {outcome.status}")

    def failed(self, stack: str, outcome: Outcome) -> RegionResult:
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

    def rejected(self, cfn: Any, stack: str, exc: Exception) -> RegionResult:
        reason = error_text(exc)
        self.console.line(f"CloudFormation rejected the change to {stack}: {reason}")
        state = read_stack(cfn, stack, self.region)
        self.console.line(f"Stack status: {state.status or 'does not exist'}")
        return RegionResult(self.region, "failed", EXIT_FAILED, reason)


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
