"""What a Ctrl-C left behind: the stack's status and our change sets, in one line.

CloudFormation does not stop when `ops` does: an executed change set runs to its end, a change set
being created is still created, and a first change set leaves an empty REVIEW_IN_PROGRESS stack.
"""

from __future__ import annotations

from typing import Any

from ops.deploy.plan import read_stack


def interrupted_message(cfn: Any, stack: str, region: str, command: str = "apply") -> str:
    try:
        state = read_stack(cfn, stack, region)
        pending = _pending_change_sets(cfn, stack) if state.exists else []
    except Exception as exc:  # Ctrl-C reporting must not fail: say we could not look
        return (
            f"interrupted: could not read {stack} in {region} afterwards ({exc}); CloudFormation "
            f"keeps going with whatever it had started: check with ops status --region {region}"
        )
    if not state.exists:
        return f"interrupted: {stack} does not exist in {region}; nothing was deployed there"
    empty = state.status == "REVIEW_IN_PROGRESS"
    if empty:
        where = "an empty stack made for its first change set, nothing deployed yet"
    else:
        where = "CloudFormation keeps going with any operation it had started"
    sets = "; ".join(pending) or "no change set waiting"
    finish = f" (or ops destroy --region {region} removes the empty stack)" if empty else ""
    return (
        f"interrupted: {stack} in {region} is {state.status} ({where}); {sets}. See ops status "
        f"--region {region}; ops {command} --region {region} again takes over from there{finish}"
    )


def _pending_change_sets(cfn: Any, stack: str) -> list[str]:
    """ "change set NAME is CREATE_COMPLETE, not executed" for each not yet executed."""
    summaries = cfn.list_change_sets(StackName=stack).get("Summaries", [])
    return [
        f"change set {s['ChangeSetName']} is {s.get('Status', '?')}, not executed"
        for s in summaries
        if s.get("ExecutionStatus", "AVAILABLE") in ("AVAILABLE", "UNAVAILABLE")
    ]
