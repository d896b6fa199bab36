"""`lambda-concurrency`: raise a function's reserved concurrency on ALARM, restore it on OK.

A function without reserved concurrency draws from the account's unreserved pool; giving it a
reservation would cap it, so that case is skipped, not "raised". Lambda refuses a reservation that
would leave the account fewer than 100 unreserved executions: reported as a skip with its message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.responders.alarm import AlarmEvent
from functions.responders.plan import ActionRefused, Clients, Skip, Step, raised, wrong_resource


def plan(
    job: dict[str, Any], alarm: AlarmEvent, clients: Clients, now: datetime, current_state: str
) -> Step | Skip:
    name = job["function"]
    skip = wrong_resource(alarm.dimension("FunctionName"), "FunctionName", name)
    if skip:
        return skip
    lam = clients("lambda")
    current = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    target = _target(job, alarm.state, current)
    if isinstance(target, Skip):
        return target

    def apply() -> None:
        try:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=target)
        except (
            lam.exceptions.InvalidParameterValueException,
            lam.exceptions.LimitExceededException,
        ) as exc:
            raise ActionRefused(exc.response["Error"].get("Message", str(exc))) from exc

    return Step(f"lambda:function/{name}", "reserved concurrency", current, target, apply)


def _target(job: dict[str, Any], state: str, current: int | None) -> int | Skip:
    if state == "OK":
        if not job["restore_on_ok"]:
            return Skip("no-action", "OK: restore_on_ok is off")
        if current == job["baseline"]:
            return Skip("at-baseline", f"already at the baseline {current}")
        return int(job["baseline"])
    if current is None:
        return Skip(
            "not-applicable",
            "the function has no reserved concurrency: it uses the unreserved pool, and a "
            "reservation would cap it",
        )
    if current >= job["ceiling"]:
        return Skip("at-ceiling", f"{current} is at or above the ceiling {job['ceiling']}")
    return raised(current, job["factor"], job["ceiling"])
