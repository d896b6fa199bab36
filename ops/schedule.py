"""EventBridge schedule expressions: `rate(...)` and six-field `cron(...)`, validated as AWS does.

`check_schedule(text)` returns None for a valid expression and otherwise a message that says what
is wrong, in the config loader's style. The rules are EventBridge's: `rate(1 hour)` takes the
singular unit and `rate(5 hours)` the plural; cron has six fields (minutes hours day-of-month
month day-of-week year) and exactly one of day-of-month and day-of-week is `?`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops.naming import LOCAL_ACCOUNT, logical_id

_RATE = re.compile(r"^rate\((\d+) ([a-z]+)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # symbolic values, numbered from `low`
    specials: str = ""  # which of ? L W # the field allows


FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("day-of-month", 1, 31, specials="?LW"),
    CronField("month", 1, 12, tuple(MONTHS)),
    CronField("day-of-week", 1, 7, tuple(DAYS), specials="?L#"),
    CronField("year", 1970, 2199),
)


def check_schedule(text: str) -> str | None:
    """None when `text` is a valid EventBridge schedule expression, else what is wrong."""
    if text.startswith("rate("):
        return _check_rate(text)
    if text.startswith("cron("):
        return _check_cron(text)
    return f"expected rate(...) or cron(...), got {text!r}"


def check_timezone(name: str) -> str | None:
    """An IANA time zone name, as EventBridge Scheduler takes it (Europe/Paris)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"expected an IANA time zone name like 'Europe/Paris', got {name!r}"
    return None


def rate_seconds(text: str) -> int | None:
    """The interval of a valid rate() expression in seconds; None for cron()."""
    match = _RATE.match(text)
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).rstrip("s")]


def _check_rate(text: str) -> str | None:
    match = _RATE.match(text)
    if not match:
        return f"expected rate(<number> <unit>) like rate(5 minutes), got {text!r}"
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.rstrip("s")
    if singular not in _UNITS:
        return f"expected a unit of minute(s), hour(s) or day(s), got {unit!r} in {text!r}"
    if value < 1:
        return f"expected a rate of at least 1, got {text!r}"
    want = singular if value == 1 else singular + "s"
    if unit != want:
        return f"expected rate({value} {want}) ({want!r} for {value}), got {text!r}"
    return None


def _check_cron(text: str) -> str | None:
    match = _CRON.match(text)
    parts = match.group(1).split() if match else []
    if len(parts) != 6:
        return (
            "expected cron() with 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(parts)} in {text!r}"
        )
    for field, part in zip(FIELDS, parts, strict=True):
        error = _check_field(field, part)
        if error:
            return f"{error} in {text!r}"
    dom, dow = parts[2], parts[4]
    if (dom == "?") == (dow == "?"):
        return (
            "expected '?' in exactly one of day-of-month and day-of-week "
            f"(EventBridge cannot take both), got {text!r}"
        )
    return None


def _check_field(field: CronField, part: str) -> str | None:
    if part == "?":
        return None if "?" in field.specials else f"'?' is not allowed in {field.name}"
    for item in part.split(","):
        if not _item_ok(field, item):
            return f"invalid {field.name} value {item!r} (allowed {field.low}-{field.high})"
    return None


def _item_ok(field: CronField, item: str) -> bool:
    special = _special_ok(field, item)
    if special is not None:
        return special
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    low, dash, high = base.partition("-")
    if not dash:
        return _value(field, low) is not None
    return _value(field, low) is not None and _value(field, high) is not None


def _special_ok(field: CronField, item: str) -> bool | None:
    """L, W and # forms; None when `item` is not one of them."""
    if "L" in field.specials and item == "L":
        return True
    if "W" in field.specials and item.endswith("W"):
        return item == "LW" or _value(field, item[:-1]) is not None
    if "#" in field.specials and "#" in item:
        day, _, nth = item.partition("#")
        return _value(field, day) is not None and nth in {"1", "2", "3", "4", "5"}
    if "#" in field.specials and item.endswith("L"):  # day-of-week: last Friday is 6L
        return _value(field, item[:-1]) is not None
    return None


def _value(field: CronField, token: str) -> int | None:
    if token.upper() in field.names:
        return field.low + field.names.index(token.upper())
    if token.isdigit() and field.low <= int(token) <= field.high:
        return int(token)
    return None


# Schedules in words, for `ops render --explain` -----------------------------------------------

DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip


def explain(text: str, timezone: str | None = None) -> str:
    """A valid expression in words: `cron(0/30 * ? * MON-FRI *)` -> every 30 minutes, Monday to
    Friday (UTC)."""
    zone = f" ({timezone or 'UTC'})"
    seconds = rate_seconds(text)
    if seconds is not None:
        value, unit = _RATE.match(text).groups()  # type: ignore[union-attr]
        return ("every " + unit.rstrip("s") if value == "1" else f"every {value} {unit}") + zone
    minute, hour, dom, month, dow, year = text[5:-1].split()
    parts = [_time_of_day(minute, hour), _days(dom, dow), _months(month), _years(year)]
    return ", ".join(p for p in parts if p) + zone


def _time_of_day(minute: str, hour: str) -> str:
    if minute.isdigit() and hour.isdigit():
        return f"at {int(hour):02d}:{int(minute):02d}"
    minutes = _every(minute, "minute") or f"at minute {_list(minute, str)}"
    if hour == "*":
        return minutes if minute.startswith(("*", "0/")) else f"{minutes} of every hour"
    hours = _every(hour, "hour") or f"during hour {_list(hour, str)}"
    return f"{minutes}, {hours}"


def _every(field: str, unit: str) -> str:
    if field == "*":
        return f"every {unit}"
    start, slash, step = field.partition("/")
    if not slash:
        return ""
    base = f"every {step} {unit}s" if step != "1" else f"every {unit}"
    return base if start in ("*", "0") else f"{base} from {unit} {start}"


def _days(dom: str, dow: str) -> str:
    if dow not in ("?", "*"):
        plain = not any(c in dow for c in "-#L")
        return ("on " if plain else "") + _list(dow, _day_name)
    if dom in ("?", "*"):
        return "every day"
    if dom == "L":
        return "on the last day of the month"
    if dom == "LW":
        return "on the last weekday of the month"
    return f"on day {_list(dom, str)} of the month"


def _months(month: str) -> str:
    return "" if month == "*" else "in " + _list(month, _month_name)


def _years(year: str) -> str:
    return "" if year == "*" else "in " + _list(year, str)


def _list(field: str, name: Callable[[str], str]) -> str:
    items = []
    for item in field.split(","):
        low, dash, high = item.partition("-")
        items.append(f"{name(low)} to {name(high)}" if dash else name(item))
    return " and ".join(items)


def _day_name(token: str) -> str:
    if "#" in token:
        day, _, nth = token.partition("#")
        return f"the {_ordinal(int(nth))} {_day_name(day)} of the month"
    if token.endswith("L") and len(token) > 1:
        return f"the last {_day_name(token[:-1])} of the month"
    if token == "L":
        return "Saturday"
    index = DAYS.index(token.upper()) if token.upper() in DAYS else int(token) - 1
    return DAY_NAMES[index]


def _month_name(token: str) -> str:
    index = MONTHS.index(token.upper()) if token.upper() in MONTHS else int(token) - 1
    return MONTH_NAMES[index]


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}[n]


def scheduled_event(config: Any, section: Any, item: Any, region: str) -> dict[str, Any]:
    """EventBridge's "Scheduled Event", as a rule on a schedule delivers it (`ops event`'s sample
    for a purge job or a scheduled function; `config` and `section` as in `ops.events.Sample`)."""
    rule = f"{config.stack.name}-{logical_id(section.family, item.name)}Schedule"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{rule}"],
        "detail": {},
    }
