"""Read a stack's remote state and decide what `ops apply` does with it: no write calls here.

Every decision is a pure function of what CloudFormation answered (a `StackState`, a described
change set, the template), so the unit tests cover each stack state without AWS.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from ops.errors import EXIT_FAILED, EXIT_USAGE, UsageError
from ops.models.deployer import replica_regions

OWNER_TAG = "ops:stack"  # marks a stack `ops` created, so it may delete a failed first creation
# CloudFormation reports an empty change set as FAILED with one of these reasons.
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")
IAM_NAME_KEYS = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
IAM_UNNAMED = ("AWS::IAM::Policy", "AWS::IAM::AccessKey", "AWS::IAM::UserToGroupAddition")
# Stable failed states that only a delete (or a continued rollback) can get out of.
DELETE_ONLY = ("ROLLBACK_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_FAILED")


@dataclass(frozen=True)
class StackState:
    """What DescribeStacks said about the stack (status None: it does not exist)."""

    name: str
    region: str
    status: str | None = None
    stack_id: str | None = None
    reason: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    termination_protection: bool = False
    outputs: tuple[tuple[str, str], ...] = ()
    created: datetime | None = None
    updated: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.status not in (None, "DELETE_COMPLETE")

    @property
    def owned(self) -> bool:
        return self.tags.get(OWNER_TAG) == self.name

    @property
    def busy(self) -> bool:
        """An operation is running (REVIEW_IN_PROGRESS is a change set nobody executed)."""
        return (
            bool(self.status)
            and self.status != "REVIEW_IN_PROGRESS"
            and str(self.status).endswith("_IN_PROGRESS")
        )


def read_stack(cfn: Any, name: str, region: str) -> StackState:
    """DescribeStacks for `name`; a stack that does not exist comes back with status None."""
    from botocore.exceptions import ClientError

    try:
        [stack] = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in exc.response.get("Error", {}).get("Message", ""):
            return StackState(name=name, region=region)
        raise
    return state_from(stack, region)


def state_from(stack: Mapping[str, Any], region: str) -> StackState:
    return StackState(
        name=stack["StackName"],
        region=region,
        status=stack["StackStatus"],
        stack_id=stack["StackId"],
        reason=stack.get("StackStatusReason"),
        tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
        termination_protection=bool(stack.get("EnableTerminationProtection")),
        outputs=tuple((o["OutputKey"], o.get("OutputValue", "")) for o in stack.get("Outputs", [])),
        created=stack.get("CreationTime"),
        updated=stack.get("LastUpdatedTime"),
    )


class Action(Enum):
    CREATE = "create"  # change set of type CREATE
    UPDATE = "update"  # change set of type UPDATE
    RECREATE = "recreate"  # delete the failed first creation, then CREATE
    CONTINUE_ROLLBACK = "continue rollback"  # ContinueUpdateRollback, then UPDATE
    WAIT = "wait"  # another operation is running: wait for it, then decide again
    REFUSE = "refuse"  # nothing safe to do: `message` says what the user should do


@dataclass(frozen=True)
class Decision:
    action: Action
    message: str = ""
    exit_code: int = 0


def decide(state: StackState, *, continue_rollback: bool = False) -> Decision:
    """Which operation a stack in `state` gets (see AWS-FACTS on the failed states)."""
    if continue_rollback and state.status != "UPDATE_ROLLBACK_FAILED":
        return _refuse(
            f"--continue-rollback applies to a stack in UPDATE_ROLLBACK_FAILED; {_where(state)} "
            f"is {state.status or 'not there'}. Run ops apply without it.",
            EXIT_USAGE,
        )
    if not state.exists or state.status == "REVIEW_IN_PROGRESS":
        return Decision(Action.CREATE)
    if state.busy:
        return Decision(Action.WAIT, f"{_where(state)} is {state.status}: waiting for it")
    if state.status == "ROLLBACK_COMPLETE":
        return _failed_first_creation(state)
    if state.status == "UPDATE_ROLLBACK_FAILED":
        if continue_rollback:
            return Decision(Action.CONTINUE_ROLLBACK)
        return _refuse(
            f"{_where(state)} is UPDATE_ROLLBACK_FAILED: CloudFormation could not roll back the "
            "last update. Fix what the reason names, then run ops apply --continue-rollback "
            "(add --skip-resource LOGICAL_ID for resources that cannot be rolled back)."
            + _reason(state)
        )
    if state.status in DELETE_ONLY or str(state.status).endswith("_FAILED"):
        return _refuse(
            f"{_where(state)} is {state.status} and cannot be updated; delete it with:\n"
            f"  {delete_command(state)}\nthen run ops apply again." + _reason(state)
        )
    return Decision(Action.UPDATE)


def _failed_first_creation(state: StackState) -> Decision:
    if state.owned:
        return Decision(
            Action.RECREATE,
            f"{_where(state)} is ROLLBACK_COMPLETE (its first creation failed): deleting it "
            "before creating it again",
        )
    return _refuse(
        f"{_where(state)} is ROLLBACK_COMPLETE (its first creation failed) and can only be "
        f"deleted. It does not carry the tag {OWNER_TAG}={state.name}, so ops leaves that to "
        f"you:\n  {delete_command(state)}\nthen run ops apply again." + _reason(state)
    )


def _refuse(message: str, exit_code: int = EXIT_FAILED) -> Decision:
    return Decision(Action.REFUSE, message, exit_code)


def _where(state: StackState) -> str:
    return f"stack {state.name} in {state.region}"


def _reason(state: StackState) -> str:
    return f"\nLast reason: {state.reason}" if state.reason else ""


def delete_command(state: StackState) -> str:
    return f"aws cloudformation delete-stack --stack-name {state.name} --region {state.region}"


def capabilities(template: Mapping[str, Any]) -> list[str]:
    """CAPABILITY_NAMED_IAM when an IAM resource has a fixed name, else CAPABILITY_IAM if any."""
    found: set[str] = set()
    for resource in template.get("Resources", {}).values():
        kind = resource.get("Type", "")
        name_key = IAM_NAME_KEYS.get(kind)
        if name_key and name_key in resource.get("Properties", {}):
            found.add("CAPABILITY_NAMED_IAM")
        elif name_key or kind in IAM_UNNAMED:
            found.add("CAPABILITY_IAM")
    # Named IAM implies the plain capability; CloudFormation accepts either alone.
    return ["CAPABILITY_NAMED_IAM"] if "CAPABILITY_NAMED_IAM" in found else sorted(found)


def code_keys(template: Mapping[str, Any]) -> list[str]:
    """The S3 keys of every function's code (one per bundle in use)."""
    keys = {
        r["Properties"]["Code"]["S3Key"]
        for r in template.get("Resources", {}).values()
        if r.get("Type") == "AWS::Lambda::Function" and "S3Key" in r["Properties"].get("Code", {})
    }
    return sorted(keys)


def stack_tags(stack_name: str, tags: Mapping[str, str]) -> list[dict[str, str]]:
    """The config's tags plus the ownership tag (which the config cannot override)."""
    merged = {**tags, OWNER_TAG: stack_name}
    return [{"Key": k, "Value": v} for k, v in sorted(merged.items())]


def load_parameters(path: str | Path) -> dict[str, str]:
    """`--parameters FILE`: a JSON or TOML table of key -> value."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--parameters {path}: cannot read it as JSON or TOML: {exc}") from None
    if not isinstance(data, dict) or any(isinstance(v, dict | list) for v in data.values()):
        raise UsageError(f"--parameters {path}: expected a table of NAME = value")
    return {str(k): _param_text(v) for k, v in data.items()}


def _param_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def stack_parameters(
    template: Mapping[str, Any], values: Mapping[str, str]
) -> list[dict[str, str]]:
    """Parameters for the change set; names the template does not declare are refused here."""
    declared = template.get("Parameters", {})
    unknown = sorted(set(values) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UsageError(
            f"--parameters: {', '.join(unknown)} not in the template (it has: {known})"
        )
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


@dataclass(frozen=True)
class ResourceChange:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str = "False"  # True | Conditional | False


@dataclass(frozen=True)
class ChangeSetSummary:
    change_set_id: str
    status: str
    reason: str = ""
    changes: tuple[ResourceChange, ...] = ()
    created: datetime | None = None  # the server's clock: events are shown from here on
    stack_id: str = ""

    @property
    def no_changes(self) -> bool:
        return self.status == "FAILED" and any(r in self.reason for r in NO_CHANGES_REASONS)

    @property
    def failed(self) -> bool:
        return self.status == "FAILED" and not self.no_changes


def summarize(pages: Iterable[Mapping[str, Any]]) -> ChangeSetSummary:
    """Every page of DescribeChangeSet folded into one summary."""
    first: Mapping[str, Any] | None = None
    changes: list[ResourceChange] = []
    for page in pages:
        first = first or page
        changes.extend(_change(c["ResourceChange"]) for c in page.get("Changes", []))
    if first is None:
        raise ValueError("DescribeChangeSet returned no page")
    return ChangeSetSummary(
        change_set_id=first["ChangeSetId"],
        status=first["Status"],
        reason=first.get("StatusReason", ""),
        changes=tuple(changes),
        created=first.get("CreationTime"),
        stack_id=first.get("StackId", ""),
    )


def _change(change: Mapping[str, Any]) -> ResourceChange:
    return ResourceChange(
        action=change.get("Action", "Modify"),
        logical_id=change.get("LogicalResourceId", ""),
        resource_type=change.get("ResourceType", ""),
        replacement=str(change.get("Replacement", "False")),
    )


def apply_order(config: Any, requested: Iterable[str]) -> list[str]:
    """The regions `ops apply` deploys, in order: the deployer's replica regions first (the
    primary's replication rule can only name buckets that exist), then the ones asked for."""
    ordered: list[str] = []
    for region in [*replica_regions(config), *requested]:
        if region not in ordered:
            ordered.append(region)
    return ordered


def destroy_order(config: Any, requested: Iterable[str]) -> list[str]:
    """The regions `ops destroy` deletes from: apply's, reversed (replica stacks included),
    so a stack goes before the stacks it depends on."""
    return list(reversed(apply_order(config, requested)))
