"""The time an invocation has left, so work stops cleanly before Lambda's timeout kills it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class TimeBudget:
    """Remaining time, minus a reserve kept for reporting and handing work on."""

    def __init__(self, remaining_ms: Callable[[], int], reserve_seconds: float = 10.0) -> None:
        self._remaining_ms = remaining_ms
        self.reserve = reserve_seconds

    @classmethod
    def from_context(cls, context: Any, reserve_seconds: float = 10.0) -> TimeBudget:
        return cls(context.get_remaining_time_in_millis, reserve_seconds)

    @classmethod
    def seconds(cls, total: float, reserve_seconds: float = 0.0) -> TimeBudget:
        """A budget of `total` seconds from now, for tests and local runs."""
        deadline = time.monotonic() + total
        return cls(lambda: int((deadline - time.monotonic()) * 1000), reserve_seconds)

    def left(self) -> float:
        """Seconds left before the reserve."""
        return self._remaining_ms() / 1000.0 - self.reserve

    def expired(self) -> bool:
        return self.left() <= 0
