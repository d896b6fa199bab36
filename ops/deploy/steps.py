"""The planner: what `ops apply` and `ops destroy` do in one region, as a list of steps decided
from the stack's state before anything changes (chalice's plan: the planner returns steps, an
executor performs them). `ops apply/destroy` perform the list (`ops.deploy.execute`); `ops plan`
hands the same list to a display-only executor (`ops.deploy.display`), so what plan shows is
what apply and destroy then do.

Steps are frozen data; `to_dict` is what `--json` prints and what the plan/apply comparison
test compares. A step that needs remote answers to go on (the change set's changes) gets them
from the executor, which records them beside the step.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ops.deploy.bootstrap import INLINE_TEMPLATE_LIMIT, template_key
from ops.deploy.plan import (
    Action,
    StackState,
    code_keys,
    decide,
)
from ops.deploy.request import StackRequest
from ops.errors import EXIT_FAILED


@dataclass(frozen=True)
class Step:
    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Refuse(Step):
    """Nothing safe to do: `message` says what the user should do."""

    kind = "refuse"
    message: str
    exit_code: int = EXIT_FAILED

    def describe(self) -> str:
        return f"refuse: {self.message.splitlines()[0]}"


@dataclass(frozen=True)
class Recover(Step):
    """Wait for another operation, delete a failed first creation, or continue a rollback;
    then read the stack again and plan anew."""

    kind = "recover"
    action: str  # Action.WAIT / RECREATE / CONTINUE_ROLLBACK's value
    stack_id: str
    message: str
    skip_resources: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.message}; then read the stack again and plan anew"


@dataclass(frozen=True)
class UploadTemplate(Step):
    """The template is over CreateChangeSet's inline limit: put it in the artifact bucket."""

    kind = "upload-template"
    key: str
    size: int

    def describe(self) -> str:
        return f"upload the template ({self.size:,} bytes) to the artifact bucket as {self.key}"


@dataclass(frozen=True)
class ChangeSet(Step):
    """Create the change set and read what it would change (CREATE or UPDATE)."""

    kind = "change-set"
    type: str

    def describe(self) -> str:
        return f"create a change set of type {self.type} and show its changes"


@dataclass(frozen=True)
class Confirm(Step):
    kind = "confirm"
    question: str
    declined: str  # the summary's detail when the answer is no

    def describe(self) -> str:
        return f"ask: {self.question} (or --yes)"


@dataclass(frozen=True)
class UploadCode(Step):
    """Create the artifact bucket if it is missing; upload each zip whose key is not there."""

    kind = "upload-code"
    keys: tuple[str, ...]

    def describe(self) -> str:
        return f"upload the function code not in the artifact bucket yet: {', '.join(self.keys)}"


@dataclass(frozen=True)
class Execute(Step):
    kind = "execute"

    def describe(self) -> str:
        return "execute the change set and watch its events"


@dataclass(frozen=True)
class Protect(Step):
    """A change set cannot set termination protection: its own call, after the creation."""

    kind = "protect"

    def describe(self) -> str:
        return "turn on termination protection"


@dataclass(frozen=True)
class NothingToDelete(Step):
    kind = "nothing-to-delete"

    def describe(self) -> str:
        return "nothing to delete"


@dataclass(frozen=True)
class Delete(Step):
    kind = "delete"
    stack_id: str

    def describe(self) -> str:
        return "delete the stack and everything in it, and watch its events"


def plan_apply(state: StackState, request: StackRequest) -> list[Step]:
    """The steps `ops apply` takes for a stack in `state`."""
    decision = decide(state, continue_rollback=request.continue_rollback)
    if decision.action is Action.REFUSE:
        return [Refuse(decision.message, decision.exit_code)]
    if decision.action not in (Action.CREATE, Action.UPDATE):
        assert state.stack_id is not None
        message = decision.message or f"{decision.action.value}: {state.name}"
        skip = request.skip_resources if decision.action is Action.CONTINUE_ROLLBACK else ()
        return [Recover(decision.action.value, state.stack_id, message, skip)]
    return [*_template(request), *_change_set(state, request)]


def _template(request: StackRequest) -> list[Step]:
    size = len(request.body.encode())
    return (
        [] if size <= INLINE_TEMPLATE_LIMIT else [UploadTemplate(template_key(request.body), size)]
    )


def _change_set(state: StackState, request: StackRequest) -> list[Step]:
    creating = not state.exists or state.status == "REVIEW_IN_PROGRESS"
    where = f"{request.stack} in {state.region}"
    steps: list[Step] = [
        ChangeSet("CREATE" if creating else "UPDATE"),
        Confirm(f"Execute these changes to {where}?", "nothing was executed"),
    ]
    keys = tuple(code_keys(request.template))
    if keys:
        steps.append(UploadCode(keys))
    steps.append(Execute())
    if creating and request.termination_protection:
        steps.append(Protect())
    return steps


def plan_destroy(state: StackState) -> list[Step]:
    """The steps `ops destroy` takes for a stack in `state`."""
    where = f"stack {state.name} in {state.region}"
    if not state.exists:
        return [NothingToDelete()]
    if state.termination_protection:
        return [
            Refuse(
                f"{where} has termination protection on; turn it off first (and set "
                "stack.termination_protection = false in the config):\n"
                "  aws cloudformation update-termination-protection "
                f"--no-enable-termination-protection --stack-name {state.name} "
                f"--region {state.region}"
            )
        ]
    if state.busy:
        return [Refuse(f"{where} is {state.status}; run ops destroy when it ends")]
    assert state.stack_id is not None
    question = f"Delete stack {state.name} in {state.region} and everything in it?"
    return [Confirm(question, "nothing was deleted"), Delete(state.stack_id)]
