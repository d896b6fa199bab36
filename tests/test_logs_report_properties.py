"""Property tests of the REPORT-line parser: whatever lines a batch holds, `parse_batch` never
raises, and its batch-wide scans (text REPORT lines and `platform.report` records in Lambda's
compact spelling, read by regular expressions) give the same figures as the checked
event-by-event path (`json.loads` per record).

Numbers are compared as numbers: the scans keep the text of the line (`1.50`), the checked path
writes what `json.loads` read (`1.5`); both are the same JSON number in the EMF line. Values are
compared in order of size: the scans take text lines before records, and an EMF value array is a
set of samples, not a sequence.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from functions.logs import report_metrics
from functions.logs.decode import LogBatch
from functions.logs.report_metrics import BatchReport, FunctionStats, parse_batch
from tests.test_logs_report_metrics import json_report, text_report

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**7),
    st.floats(min_value=0, max_value=10**6, allow_nan=False).map(lambda f: round(f, 3)),
    st.sampled_from([0, -0.0, 1.5, 100.0, 1e-7, 1e20, 12345678901234567]),
)


@st.composite
def lambda_json_record(draw: st.DrawFn) -> str:
    """A `platform.report` record as Lambda writes it (compact, its key order), with the
    optional parts drawn, and now and then a variation Lambda does not write."""
    metrics: dict[str, Any] = {
        "durationMs": draw(NUMBERS),
        "billedDurationMs": draw(NUMBERS),
        "memorySizeMB": draw(st.sampled_from([128, 512, 10240, 0])),
        "maxMemoryUsedMB": draw(NUMBERS),
    }
    if draw(st.booleans()):
        metrics["initDurationMs"] = draw(NUMBERS)
    record: dict[str, Any] = {"requestId": draw(WORDS), "metrics": metrics}
    if draw(st.booleans()):
        record["tracing"] = {"type": "X-Amzn-Trace-Id", "value": draw(WORDS)}
    status = draw(st.sampled_from(["success", "timeout", "error", "failure", None]))
    if status is not None:
        record["status"] = status
    if draw(st.booleans()):
        record["errorType"] = draw(st.sampled_from(["Runtime.OutOfMemory", "Runtime.Exit"]))
    document = {"time": draw(WORDS), "type": "platform.report", "record": record}
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=draw(st.booleans()))
    return text + draw(st.sampled_from(["", "\n", " \n"]))


LINES = st.one_of(
    lambda_json_record(),
    st.builds(json_report, WORDS, NUMBERS, st.integers(0, 10**4)),  # spaced JSON: checked path
    st.builds(
        text_report,
        st.text(alphabet="abcdef0123456789-", min_size=1, max_size=8),
        st.sampled_from(["1.00", "20.5", "3000.00"]),
        st.integers(0, 10**4),
        init=st.none() | st.just("150.25"),
        tail=st.sampled_from(
            ["", "Status: timeout\t", "Status: error\tError Type: Runtime.OutOfMemory\t"]
        ),
    ),
    st.sampled_from(
        [
            "START RequestId: r1 Version: $LATEST\n",
            "2025-01-01T00:00:03.000Z r2 Task timed out after 3.00 seconds\n",
            "REPORT RequestId: r8\tDuration: soon\n",
            '{"type": "platform.report", "record": {"metrics": {"durationMs": "x"}}}',
            '{"level":"INFO","message":"platform.report is a word here"}',
            '{"time":"platform.report","type":"platform.report","record":{}}',
            "REPORT RequestId: r9\tDuration: \u0661\u0662 ms\tBilled Duration: 2 ms\t"
            "Memory Size: 1 MB\tMax Memory Used: 1 MB\t",
            f"REPORT RequestId: r10\tDuration: {'9' * 400} ms\tBilled Duration: 2 ms\t"
            "Memory Size: 1 MB\tMax Memory Used: 1 MB\t",
            json_report("r11", 1.0, 10, metrics={"maxMemoryUsedMB": 1e308, "memorySizeMB": 1e-300}),
        ]
    ),
    WORDS,
)
EVENTS = st.lists(
    st.one_of(
        LINES.map(lambda line: {"id": "e", "timestamp": 1, "message": line}),
        st.sampled_from([None, 3, "event", {"id": "x"}, {"message": 5}]),
    ),
    max_size=12,
)


def batch(events: list[Any]) -> LogBatch:
    return LogBatch("DATA_MESSAGE", "1", "/aws/lambda/f", "s", (), events)


def figures(report: BatchReport) -> tuple[Any, ...]:
    stats = report.functions.get("f", FunctionStats())
    series = {k: sorted(float(v) for v in values) for k, values in stats.series().items()}
    return series, stats.counts(), report.reports, report.timeouts


@SETTINGS
@given(EVENTS)
@example([{"id": "e", "timestamp": 1, "message": '{"time":"t","type":"platform.report","record"'}])
def test_parse_batch_never_raises_and_the_fast_scans_agree_with_the_checked_path(
    events: list[Any],
) -> None:
    fast = parse_batch(batch(events))
    checked = BatchReport(events=len(events))
    stats = checked.functions.setdefault("f", FunctionStats())
    report_metrics._scan(events, stats, checked)
    checked.reports = len(stats.rows)
    assert figures(fast) == figures(checked)
    assert fast.malformed == checked.malformed
    for values in fast.functions.get("f", FunctionStats()).series().values():
        for value in values:  # each goes into an EMF line as it is: it must be a JSON number
            assert isinstance(json.loads(value), (int, float))


def lambda_spelling(record: str) -> bool:
    """Lambda writes plain decimals and ids and times without escapes; Python's json writes
    1e-07 for some floats and escapes control characters, and no figure of Lambda's has 17
    digits: the scan leaves those to json.loads."""
    plain = "\\" not in record and "e-" not in record and "e+" not in record
    return plain and not re.search("[0-9]{17}", record)


@SETTINGS
@given(st.lists(lambda_json_record().filter(lambda_spelling), min_size=1, max_size=8))
def test_records_in_lambdas_spelling_take_the_batch_scan(records: list[str]) -> None:
    """Records in Lambda's spelling must not need json.loads at all."""
    text = report_metrics.SEP + report_metrics.SEP.join(records)
    stats = FunctionStats()
    assert report_metrics._json_fast(text, stats)
    assert len(stats.rows) == len(records)
