"""Parse a users file (CSV with a header, or JSON lines) into user records, one per user id.

A row that cannot be a user (no id, a bad e-mail, not an object, not valid JSON, the wrong
number of CSV fields) is rejected with its line number and reason; the other rows still load.
A user id that appears twice keeps its last row (a later line updates an earlier one).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

REQUIRED = ("id", "email")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_VALUE = 4096  # longer values are a mistake in a users file, not a user


@dataclass
class Parsed:
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> attributes
    rows: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    def add(self, line: int, row: Any) -> None:
        self.rows += 1
        problem = _problem(row)
        if problem:
            self.rejected.append((line, problem))
            return
        user = {str(k): str(v).strip() for k, v in row.items() if v not in (None, "")}
        if user["id"] in self.users:
            self.duplicates += 1
            del self.users[user["id"]]  # re-inserted last: the order is the file's last word
        self.users[user["id"]] = user


def parse(key: str, lines: Iterable[str]) -> Parsed:
    """CSV unless the key ends in .jsonl/.ndjson/.json (one JSON object per line)."""
    if key.lower().endswith((".jsonl", ".ndjson", ".json")):
        return parse_json_lines(lines)
    return parse_csv(lines)


def parse_csv(lines: Iterable[str]) -> Parsed:
    parsed = Parsed()
    reader = csv.reader(lines)
    header: list[str] | None = None
    for fields in reader:
        line = reader.line_num
        if header is None:
            header = [h.strip().lower() for h in fields]
            missing = [h for h in REQUIRED if h not in header]
            if missing:
                parsed.rejected.append((line, f"the header has no {', '.join(missing)} column"))
                return parsed
            continue
        if not any(f.strip() for f in fields):
            continue  # a blank line is not a row
        if len(fields) != len(header):
            parsed.rows += 1
            parsed.rejected.append((line, f"{len(fields)} fields, the header has {len(header)}"))
            continue
        parsed.add(line, dict(zip(header, fields, strict=True)))
    return parsed


def parse_json_lines(lines: Iterable[str]) -> Parsed:
    parsed = Parsed()
    for line, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError as exc:
            parsed.rows += 1
            parsed.rejected.append((line, f"not JSON: {exc.msg}"))
            continue
        parsed.add(line, row)
    return parsed


def _problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return f"expected an object, got {type(row).__name__}"
    for name in REQUIRED:
        value = row.get(name)
        if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
            return f"no {name}"
    if not EMAIL.fullmatch(str(row["email"]).strip()):
        return f"not an e-mail address: {str(row['email'])[:80]!r}"
    if any(isinstance(v, (dict, list)) for v in row.values()):
        return "nested values are not user attributes"
    if any(len(str(v)) > MAX_VALUE for v in row.values()):
        return f"a value is over {MAX_VALUE} characters"
    return None
