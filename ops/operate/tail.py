"""`ops logs`: the log lines of one or more of the stack's functions, interleaved by timestamp.

Names are config items (`tmp-images`, or `purge/tmp-images` where names repeat), families
(`purge`, `responder`, `logs`, `deployer`) or everything. Lines come from FilterLogEvents (every
page). Following polls from a little before the last poll, because CloudWatch Logs makes
events searchable some seconds after they were written and not always in order: an event is
printed once, by its `eventId`, however many polls see it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ops.errors import UsageError
from ops.operate.logsource import LogLine, existing_groups, filter_events
from ops.operate.report import StackFunction, stack_functions

POLL_SECONDS = 2.0
FILTER_RATE = 5.0  # FilterLogEvents requests per second per account and region (AWS quota)
LOOKBACK_MS = 30_000  # how far behind the newest line each poll looks again (ingestion delay)


def select(config: Any, region: str, names: Sequence[str], every: bool) -> list[StackFunction]:
    """The functions `names` (items or families) or `every` one stand for; UsageError naming
    what there is for a name that is neither."""
    functions = stack_functions(config, region)
    if every:
        return functions
    if not names:
        raise UsageError(f"name a function, a family or --all; there are: {_known(functions)}")
    chosen: dict[str, StackFunction] = {}
    for name in names:
        family, _, short = name.rpartition("/")
        matched = [
            f
            for f in functions
            if (f.job == short and family in ("", f.family)) or (not family and f.family == name)
        ]
        if not matched:
            raise UsageError(f"no function {name!r} in {region}; there are: {_known(functions)}")
        chosen.update((f.function, f) for f in matched)
    return sorted(chosen.values(), key=lambda f: f.function)


def _known(functions: Sequence[StackFunction]) -> str:
    names = [f"{f.job} ({f.family})" for f in functions]
    families = sorted({f.family for f in functions})
    return ", ".join(names) + (f"; families: {', '.join(families)}" if families else "") or "none"


def format_line(line: LogLine) -> str:
    """`2026-12-03T10:00:00.123Z  FUNCTION  message` (multi-line messages keep their lines)."""
    stamp = line.time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{line.timestamp % 1000:03d}Z"
    return f"{stamp}  {line.function}  {line.message.rstrip()}"


def read(
    logs: Any,
    functions: Sequence[StackFunction],
    start_ms: int,
    end_ms: int,
    pattern: str = "",
    warn: Callable[[str], None] = lambda _m: None,
) -> list[LogLine]:
    """Every line of the functions in [start, end], oldest first; a function whose log group
    does not exist yet (it never ran) is said once on `warn`."""
    groups = existing_groups(logs, [f.log_group for f in functions])
    for f in functions:
        if f.log_group not in groups:
            warn(f"{f.function} has no log group {f.log_group} yet: it has not run")
    return filter_events(logs, groups, start_ms, end_ms, pattern)


def follow(
    logs: Any,
    functions: Sequence[StackFunction],
    start_ms: int,
    pattern: str = "",
    *,
    warn: Callable[[str], None] = lambda _m: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> Iterator[LogLine]:
    """Lines as they arrive, oldest first per poll, each once, until the caller stops (Ctrl-C).

    Polls no faster than FilterLogEvents' quota allows for this many groups."""
    interval = max(POLL_SECONDS, len(functions) / FILTER_RATE)
    seen: dict[str, int] = {}  # eventId -> timestamp, forgotten once behind the lookback
    since = start_ms
    warned: set[str] = set()
    while True:
        now = int(clock() * 1000)
        lines = read(logs, functions, since, now, pattern, _once(warn, warned))
        for line in lines:
            key = line.event_id or f"{line.group}|{line.stream}|{line.timestamp}|{line.message}"
            if key not in seen:
                seen[key] = line.timestamp
                yield line
        # Events become searchable some seconds after their timestamp: look a little back.
        since = max(since, now - LOOKBACK_MS)
        seen = {k: t for k, t in seen.items() if t >= since}
        sleep(interval)


def _once(warn: Callable[[str], None], warned: set[str]) -> Callable[[str], None]:
    def say(message: str) -> None:
        if message not in warned:
            warned.add(message)
            warn(message)

    return say
