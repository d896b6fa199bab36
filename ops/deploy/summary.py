"""What `ops apply/plan/destroy` tell the user on stderr: change summaries, event lines, a live
progress line on a terminal, failure reasons and the per-region summary.

`Console` writes to any text stream, so tests read what a user would see from a StringIO.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from ops.deploy.plan import ChangeSetSummary, ResourceChange

SIGNS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": ">", "Dynamic": "?"}
RED, GREEN, YELLOW = "31", "32", "33"


def line_colour(text: str) -> str | None:
    """The colour of one output line, from what it says (as `git diff --color` does)."""
    if "REPLACED" in text or "_FAILED" in text or text.lstrip().startswith("- "):
        return RED
    if text.lstrip().startswith("+ ") or text.endswith("_COMPLETE"):
        return GREEN
    if text.lstrip().startswith("~ ") or "may be replaced" in text:
        return YELLOW
    return None


@dataclass
class Console:
    """Lines for humans on `stream` (stderr); `tty` adds a live progress line, `colour` paints
    additions, changes, removals and failures."""

    stream: TextIO
    tty: bool = False
    colour: bool = False
    _progress_shown: bool = False

    def line(self, text: str = "") -> None:
        self._clear_progress()
        code = line_colour(text) if self.colour else None
        self.stream.write((f"\x1b[{code}m{text}\x1b[0m" if code else text) + "\n")
        self.stream.flush()

    def progress(self, text: str) -> None:
        """A line rewritten in place; only on a terminal (a log file would fill with them)."""
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
            self._progress_shown = True

    def _clear_progress(self) -> None:
        if self._progress_shown:
            self.stream.write("\r\x1b[2K")
            self._progress_shown = False


def change_lines(stack: str, region: str, summary: ChangeSetSummary) -> list[str]:
    """The change set as the user reads it: one line per resource, replacements flagged."""
    width = max((len(c.logical_id) for c in summary.changes), default=0)
    lines = [f"Changes to stack {stack} in {region}:"]
    lines += [f"  {_change_line(c, width)}" for c in summary.changes]
    lines.append("  " + counts(summary.changes))
    return lines


def _change_line(change: ResourceChange, width: int) -> str:
    sign = SIGNS.get(change.action, "?")
    text = f"{sign} {change.action:<7} {change.logical_id:<{width}}  {change.resource_type}"
    if change.replacement == "True":
        text += "  (REPLACED: a new physical resource)"
    elif change.replacement == "Conditional":
        text += "  (may be replaced)"
    return text


def counts(changes: Sequence[ResourceChange]) -> str:
    def n(action: str) -> int:
        return sum(1 for c in changes if c.action == action)

    replaced = sum(1 for c in changes if c.replacement in ("True", "Conditional"))
    text = f"{n('Add')} to add, {n('Modify')} to modify, {n('Remove')} to remove"
    return text + (f" ({replaced} replaced or possibly replaced)" if replaced else "")


def event_line(event: Mapping[str, Any]) -> str:
    """time, logical id, type, status, reason: Sceptre's one line per event."""
    stamp = _time(event.get("Timestamp"))
    reason = event.get("ResourceStatusReason") or ""
    parts = [
        stamp,
        event.get("LogicalResourceId", ""),
        event.get("ResourceType", ""),
        event.get("ResourceStatus", ""),
    ]
    return "  ".join([*parts, reason]).rstrip()


def _time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%H:%M:%S")
    return str(value or "")


def failure_lines(failures: Iterable[tuple[str, str, str]]) -> list[str]:
    """(logical id, type, reason) of each failed resource."""
    return [f"  {lid} ({kind}): {reason}" for lid, kind, reason in failures]


@dataclass(frozen=True)
class RegionResult:
    """How one region's operation ended, for the closing summary and the exit code."""

    region: str
    result: str  # "created", "updated", "no changes", "failed", "timed out", ...
    exit_code: int = 0
    detail: str = ""
    steps: tuple[Mapping[str, Any], ...] = ()  # the planner's steps performed (or shown)

    def to_dict(self) -> dict[str, Any]:
        """What `--json` prints for the region."""
        return {
            "region": self.region,
            "result": self.result,
            "exit_code": self.exit_code,
            "detail": self.detail,
            "steps": list(self.steps),
        }


def region_lines(results: Sequence[RegionResult], skipped: Sequence[str]) -> list[str]:
    width = max([len(r.region) for r in results] + [len(s) for s in skipped] + [6])
    lines = ["Summary:"]
    for r in results:
        lines.append(f"  {r.region:<{width}}  {r.result}" + (f": {r.detail}" if r.detail else ""))
    lines += [
        f"  {region:<{width}}  not attempted (an earlier region failed)" for region in skipped
    ]
    return lines
