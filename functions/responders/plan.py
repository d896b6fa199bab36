"""What a planner returns: a step to take (with before -> after) or a skip with its reason.

Planners only read remote state; the one mutating call is wrapped in `Step.apply`, which the
responder calls unless the job is a dry run. This keeps "recommend only" the same code path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Clients = Callable[[str], Any]  # service name -> boto3 client


@dataclass(frozen=True)
class Step:
    resource: str  # e.g. "dynamodb:table/users": cool-downs are kept per resource
    change: str  # e.g. "read capacity"
    before: Any
    after: Any
    apply: Callable[[], None]

    def describe(self) -> str:
        return f"{self.change} of {self.resource}: {self.before} -> {self.after}"


@dataclass(frozen=True)
class Skip:
    code: str  # at-ceiling, at-floor, cooldown, decrease-budget, on-demand, auto-scaling, busy...
    reason: str


class ActionRefused(Exception):
    """AWS refused the change for a reason a retry will not fix (a limit, a cool-down)."""


def raised(current: int, factor: float, ceiling: int) -> int:
    """`current` times `factor`, at least one more, never above `ceiling`."""
    return min(ceiling, max(current + 1, math.ceil(current * factor)))


def lowered(current: int, factor: float, floor: int) -> int:
    """`current` divided by `factor`, at least one less, never below `floor`."""
    return max(floor, min(current - 1, math.floor(current / factor)))


def wrong_resource(alarm_values: set[str], dimension: str, ours: str) -> Skip | None:
    """An alarm that names another resource (a prefix subscription catches many) is not ours."""
    if alarm_values and ours not in alarm_values:
        names = ", ".join(sorted(alarm_values))
        return Skip("other-resource", f"the alarm watches {dimension} {names}, not {ours}")
    return None
