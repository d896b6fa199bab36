"""Lambda REPORT lines -> per-function duration, memory and cold-start metrics, as EMF lines.

Three shapes are read: the text `REPORT RequestId: …` line (tab separated, with optional
`Init Duration`, `Status` and `Error Type` fields), the JSON `platform.report` record of functions
that log in JSON, and the text `Task timed out after …` line. Everything else is skipped by a
first-character test, so the cost per ordinary line is a few comparisons; JSON is parsed only for
lines that start with `{` and mention `platform.report`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TextIO

from functions.logs.decode import LogBatch
from functions.runtime.metrics import MAX_VALUES, emf_lines

# Numbers are kept as the text the line carries (always valid JSON numbers here) and written into
# the EMF lines as they are: converting 40,000 of them to floats and back would cost more than
# decoding the payload.
# [0-9], not \d: \d also takes other scripts' digits, which are no JSON number; at most 16 digits
# before the point (Lambda writes a handful), so no figure is beyond a float's range.
_NUMBER = r"([0-9]{1,16}+(?:\.[0-9]{1,17}+)?+)"  # possessive: no backtracking on the hot path
_GAP = r"[\t ]+"  # Lambda separates fields with tabs; copies of the line often have spaces
_REPORT_BODY = (
    rf"REPORT RequestId: [^\t\x00 ]++{_GAP}Duration: {_NUMBER} ms{_GAP}"
    rf"Billed Duration: {_NUMBER} ms{_GAP}Memory Size: {_NUMBER} MB{_GAP}"
    rf"Max Memory Used: {_NUMBER} MB(?:{_GAP}Init Duration: {_NUMBER} ms)?"
)
_REPORT = re.compile(_REPORT_BODY)
# The batch-wide scan takes Lambda's own tab-separated form only (about 10% faster); a line that
# uses spaces makes the counts disagree and sends the batch down the lenient line-by-line path.
_STRICT_BODY = _REPORT_BODY.replace(_GAP, "\t")
_REQUEST_ID = re.compile(r"REPORT RequestId: ([^\t\x00 ]+)")
SEP = "\x00"  # joins a batch's messages for one `findall` when no message contains it
# One tuple per line that starts with "REPORT ": its figures, or all "" where the strict form does
# not match (so one scan both reads the lines and counts them).
_REPORTS_IN_TEXT = re.compile(SEP + "REPORT (?:" + _STRICT_BODY.removeprefix("REPORT ") + ")?+")
_UNREAD = ("", "", "", "", "")
# A `platform.report` record exactly as Lambda writes it (compact, keys in Lambda's order, strings
# without escapes, plain decimal numbers): a subset of JSON that this regex reads the way
# `json.loads` would, so the batch-wide scan can take these lines without a parse per line. Any
# other spelling of a record (spaces, another key order, escapes, extra keys) goes to `json.loads`.
_PLAIN_STRING = r'"[^"\\\x00-\x1f]*+"'
_JSON_NUMBER = r"(-?+(?:0|[1-9][0-9]{0,15}+)(?:\.[0-9]{1,17}+)?+)"
_JSON_REPORT_BODY = (
    rf'\{{"time":{_PLAIN_STRING},"type":"platform\.report","record":\{{'
    rf'"requestId":"([^"\\\x00-\x1f]*+)","metrics":\{{"durationMs":{_JSON_NUMBER},'
    rf'"billedDurationMs":{_JSON_NUMBER},"memorySizeMB":{_JSON_NUMBER},'
    rf'"maxMemoryUsedMB":{_JSON_NUMBER}(?:,"initDurationMs":{_JSON_NUMBER})?+\}}'
    rf'(?:,"tracing":\{{{_PLAIN_STRING}:{_PLAIN_STRING}(?:,{_PLAIN_STRING}:{_PLAIN_STRING})*+\}})?+'
    r'(?:,"status":"(\w*+)")?+(?:,"errorType":"([^"\\\x00-\x1f]*+)")?+\}\}[ \t\n\r]*+'
)
_JSON_REPORTS_IN_TEXT = re.compile(SEP + _JSON_REPORT_BODY + rf"(?={SEP}|\Z)")
_JSON_ROW = itemgetter(1, 2, 3, 4, 5)  # duration, billed, size, used, init of a findall tuple
_JSON_END = itemgetter(6, 7)  # status, error type ("" when absent)
_FIRST = itemgetter(0)
_STATUS = re.compile(r"\bStatus: (\w+)(?:\s+Error Type: (\S+))?")
_TIMED_OUT = re.compile(r"(\S+) Task timed out after ([\d.]+) seconds")
OUT_OF_MEMORY = "Runtime.OutOfMemory"
LAMBDA_PREFIX = "/aws/lambda/"
UNITS = {
    "Duration": "Milliseconds",
    "BilledDuration": "Milliseconds",
    "InitDuration": "Milliseconds",
    "MaxMemoryUsed": "Megabytes",
    "MemoryUtilization": "Percent",
}
SAMPLE = 5  # malformed lines quoted in the report
# duration, billed, size, used, init ("" or None when absent)
Row = tuple[str, str, str, str, "str | None"]
_INIT = itemgetter(4)


@dataclass
class FunctionStats:
    """What one function's REPORT lines in a batch add up to."""

    rows: list[Row] = field(default_factory=list)
    timed_out: set[str] = field(default_factory=set)  # request ids: REPORT and "Task timed out"
    out_of_memory: int = 0
    errors: int = 0

    def end(self, request_id: str, status: str | None, error_type: str | None) -> None:
        """The invocation's end state, from `Status`/`Error Type` (absent on older runtimes)."""
        if status == "timeout":
            self.timed_out.add(request_id)
        elif status == "error":
            self.errors += 1
        if error_type == OUT_OF_MEMORY:
            self.out_of_memory += 1

    def series(self) -> dict[str, Sequence[str]]:
        """Per-invocation values, as JSON number text, by metric name."""
        if not self.rows:
            return {}
        durations, billed, sizes, used, init = zip(*self.rows, strict=True)
        return {
            "Duration": durations,
            "BilledDuration": billed,
            "MaxMemoryUsed": used,
            "MemoryUtilization": _utilisation(used, sizes),
            "InitDuration": list(filter(None, init)),  # findall gives "" where None is meant
        }

    def counts(self) -> dict[str, float]:
        return {
            "Invocations": len(self.rows),
            "ColdStarts": sum(map(bool, map(_INIT, self.rows))),
            "Timeouts": len(self.timed_out),
            "OutOfMemory": self.out_of_memory,
            "Errors": self.errors,
        }


def _utilisation(used: Sequence[str], sizes: Sequence[str]) -> list[str]:
    """Max memory used / memory size, in %; few distinct values, so each is computed once. A
    ratio that is no finite number (a record's 1e308 MB) is left out, never written as inf."""
    if len(set(sizes)) == 1:  # the usual case: one memory size per function and batch
        size = sizes[0]
        by_used = {u: _percent(u, size) for u in set(used)}
        values = list(map(by_used.__getitem__, used))
    else:
        pairs = list(zip(used, sizes, strict=True))
        table = {pair: _percent(*pair) for pair in set(pairs)}
        values = [table[pair] for pair in pairs]
    return values if "" not in values else [v for v in values if v]


def _percent(used: str, size: str) -> str:
    total = float(size)
    ratio = 100.0 * float(used) / total if total else 0.0
    return repr(round(ratio, 2)) if math.isfinite(ratio) else ""


@dataclass
class BatchReport:
    """What a batch held: counted, never raised, so one bad line cannot drop the others."""

    events: int = 0
    reports: int = 0
    timeouts: int = 0
    malformed: int = 0
    samples: list[str] = field(default_factory=list)
    functions: dict[str, FunctionStats] = field(default_factory=dict)

    def bad(self, event_id: Any, why: str) -> None:
        self.malformed += 1
        if len(self.samples) < SAMPLE:
            self.samples.append(f"{event_id}: {why}"[:300])

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "reports": self.reports,
            "timeouts": self.timeouts,
            "malformed": self.malformed,
            "malformed_samples": self.samples,
            "functions": sorted(self.functions),
        }


def function_name(log_group: str) -> str:
    """`/aws/lambda/NAME` -> NAME; a custom log group (LoggingConfig) stands for itself."""
    return log_group[len(LAMBDA_PREFIX) :] if log_group.startswith(LAMBDA_PREFIX) else log_group


def parse_batch(batch: LogBatch) -> BatchReport:
    """Every event of the batch, into the stats of the batch's function."""
    report = BatchReport(events=len(batch.events))
    stats = report.functions.setdefault(function_name(batch.log_group), FunctionStats())
    if not _fast_scan(batch.events, stats, report):
        _scan(batch.events, stats, report)
    report.reports = len(stats.rows)
    if not stats.rows and not stats.timed_out:
        del report.functions[function_name(batch.log_group)]
    return report


def _fast_scan(events: list[Any], stats: FunctionStats, report: BatchReport) -> bool:
    """All REPORT lines with one `findall` over the joined messages; False where it cannot be
    exact (an event without a string message, a message holding SEP, a REPORT line that does not
    parse), and then nothing was recorded."""
    try:
        messages = [event["message"] for event in events]
        text = SEP + SEP.join(messages)
    except (TypeError, KeyError):
        return False
    if text.count(SEP) != len(messages):
        return False
    rows = _REPORTS_IN_TEXT.findall(text)
    if _UNREAD in rows:  # a line starting "REPORT " that is not in Lambda's strict form
        return False
    only_reports = len(rows) == len(messages)  # one SEP per message: each is a REPORT line
    stats.rows.extend(rows)
    if rows and "Status: " in text:
        for message in messages:
            found = _REPORT.match(message) if "Status: " in message else None
            if found:
                _status(message, found, stats)
    if not only_reports:
        _other_lines(events, text, stats, report)
    return True


def _other_lines(events: list[Any], text: str, stats: FunctionStats, report: BatchReport) -> None:
    """The batch's `platform.report` records and "Task timed out" lines, beside its REPORT lines:
    records in Lambda's own spelling by one `findall` when that finds every mention of
    platform.report, the rest line by line."""
    records_done = '"platform.report"' not in text or _json_fast(text, stats)
    if records_done and "Task timed out after" not in text:
        return
    if records_done:  # the checked path would read these lines for timeouts only
        rest = [
            e
            for e in events
            if "Task timed out after" in e["message"]
            and not e["message"].startswith(("REPORT ", "{"))
        ]
    else:
        rest = [e for e in events if not e["message"].startswith("REPORT ")]
    _scan(rest, stats, report)


def _json_fast(text: str, stats: FunctionStats) -> bool:
    """Every `platform.report` record of the batch, when each is in Lambda's compact spelling
    (each match holds the quoted type exactly once, so equal counts leave no record unread);
    False, with nothing recorded, otherwise."""
    found = _JSON_REPORTS_IN_TEXT.findall(text)
    if len(found) != text.count('"platform.report"'):
        return False
    stats.rows.extend(map(_JSON_ROW, found))
    ends = list(map(_JSON_END, found))
    if ends.count(("success", "")) + ends.count(("", "")) != len(ends):  # not all plain successes
        for request_id, (status, error_type) in zip(map(_FIRST, found), ends, strict=True):
            stats.end(request_id, status or None, error_type or None)
    return True


def _scan(events: list[Any], stats: FunctionStats, report: BatchReport) -> None:
    """Event by event, each checked: the path for batches the fast scan cannot take."""
    match, add = _REPORT.match, stats.rows.append
    for event in events:
        message = event.get("message") if isinstance(event, dict) else None
        if not isinstance(message, str):
            report.bad(event.get("id") if isinstance(event, dict) else None, "no message")
        elif message.startswith("REPORT "):
            found = match(message)
            if found is None:
                report.bad(event.get("id"), "REPORT line in an unknown format")
                continue
            add(found.groups())  # type: ignore[arg-type]
            if "Status: " in message:  # newer runtimes say how the invocation ended
                _status(message, found, stats)
        elif message.startswith("{"):
            if '"platform.report"' in message:
                _json_report(message, event, stats, report)
        elif "Task timed out after" in message:
            _timed_out(message, event, stats, report)


def _status(message: str, found: re.Match[str], stats: FunctionStats) -> None:
    ended = _STATUS.search(message, found.end())
    if ended:
        request = _REQUEST_ID.match(message)
        stats.end(request.group(1) if request else message, ended.group(1), ended.group(2))


def _json_report(message: str, event: Any, stats: FunctionStats, report: BatchReport) -> None:
    try:
        record = json.loads(message)
        if record.get("type") != "platform.report":
            return  # an application line that only mentions the words
        body = record["record"]
        numbers = body["metrics"]
        init = numbers.get("initDurationMs")
        request_id = str(body.get("requestId", event.get("id")))
        row = (
            *(_json_number(numbers[k]) for k in _JSON_METRICS),
            None if init is None else _json_number(init),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        report.bad(event.get("id"), f"platform.report record unreadable: {exc!r}")
        return
    stats.rows.append(row)  # type: ignore[arg-type]
    stats.end(request_id, body.get("status"), body.get("errorType"))


_JSON_METRICS = ("durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB")


def _json_number(value: Any) -> str:
    number = float(value)  # ValueError/TypeError on anything that is not a number
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {value!r}")
    return repr(int(number)) if number.is_integer() else repr(number)


def _timed_out(message: str, event: Any, stats: FunctionStats, report: BatchReport) -> None:
    match = _TIMED_OUT.search(message)
    # Without a request id, the line's event id keeps two such lines apart.
    stats.timed_out.add(match.group(1) if match else f"event:{event.get('id')}")
    report.timeouts += 1


def write_metrics(report: BatchReport, namespace: str, timestamp_ms: int, out: TextIO) -> int:
    """The batch's metrics as EMF lines on `out`, per function; returns the number of lines."""
    lines = 0
    for name, stats in sorted(report.functions.items()):
        for line in emf_text_lines(
            stats.series(), stats.counts(), {"FunctionName": name}, namespace, timestamp_ms
        ):
            out.write(line)
            lines += 1
    return lines


def emf_text_lines(
    series: dict[str, Sequence[str]],
    counts: dict[str, float],
    dimensions: dict[str, str],
    namespace: str,
    timestamp_ms: int,
) -> Iterator[str]:
    """EMF lines of at most MAX_VALUES values per metric; counts go in the first line only.

    `emf_lines` builds each line's directive and root keys; the value arrays, already JSON number
    text, are then spliced in as they are.
    """
    rounds = max((len(v) for v in series.values()), default=0)
    heads: dict[tuple[Any, ...], list[str]] = {}  # chunks with the same metrics share a directive
    for offset in range(0, max(rounds, 1), MAX_VALUES):
        chunk = {k: v[offset : offset + MAX_VALUES] for k, v in series.items()}
        chunk = {k: v for k, v in chunk.items() if v}
        first = counts if offset == 0 else {}
        shape = (*chunk, offset == 0)
        if shape not in heads:
            placeholders = {**dict.fromkeys(chunk, 0.0), **first}
            docs = emf_lines(
                placeholders, dimensions, unit=UNITS, namespace=namespace, timestamp_ms=timestamp_ms
            )
            heads[shape] = [_head(doc, chunk) for doc in docs]
        for head in heads[shape]:
            arrays = "".join(f',"{k}":[{",".join(v)}]' for k, v in chunk.items())
            yield head + arrays + "}\n"


def _head(doc: dict[str, Any], chunk: dict[str, Sequence[str]]) -> str:
    """The document's JSON without the value arrays and the closing brace."""
    for key in chunk:
        del doc[key]
    return json.dumps(doc, separators=(",", ":"))[:-1]


def batch_time(batch: LogBatch, default_ms: int) -> int:
    """When the batch's lines were written: EMF metrics land at that time, not at ours."""
    try:  # the usual batch, at C speed; anything odd takes the checked path below
        latest = max(map(itemgetter("timestamp"), batch.events), default=default_ms)
        if type(latest) is int:
            return latest
    except (TypeError, KeyError):
        pass
    stamps = [e["timestamp"] for e in batch.events if isinstance(e, dict) and "timestamp" in e]
    latest = max((s for s in stamps if isinstance(s, int)), default=default_ms)
    return int(latest)
