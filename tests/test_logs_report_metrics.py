"""REPORT lines -> EMF metrics per function: text and JSON formats, timeouts, OOM, bad lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from functions.logs.decode import awslogs_data, decode
from functions.logs.handler import handler, process
from functions.logs.report_metrics import parse_batch
from functions.logs.settings import settings_of
from functions.runtime.budget import TimeBudget
from ops.config import parse_config
from templates.jobs import log_processor_job, ops_job_value
from tests.test_logs_decode import log_events, subscription_event


def job_for(**item: Any) -> dict[str, Any]:
    """`$OPS_JOB` as rendered for one `[[log_processor]]` table, parsed back from its JSON."""
    table = {"log_groups": ["/aws/lambda/api"], **item}
    config = parse_config({"stack": {"name": "acme-ops"}, "log_processor": [table]}, Path("t.toml"))
    [processor] = config.log_processor
    job: dict[str, Any] = json.loads(ops_job_value(log_processor_job(processor)))
    return job


JOB = job_for(name="lambda-reports", action="lambda-report-metrics", namespace="acme/Lambda")


def text_report(
    request: str, duration: str, used: int, *, init: str | None = None, tail: str = ""
) -> str:
    line = (
        f"REPORT RequestId: {request}\tDuration: {duration} ms\tBilled Duration: "
        f"{int(float(duration)) + 1} ms\tMemory Size: 128 MB\tMax Memory Used: {used} MB\t"
    )
    if init:
        line += f"Init Duration: {init} ms\t"
    return line + tail + "\n"


def json_report(request: str, duration: float, used: int, **record: Any) -> str:
    metrics = {
        "durationMs": duration,
        "billedDurationMs": int(duration) + 1,
        "memorySizeMB": 256,
        "maxMemoryUsedMB": used,
    }
    metrics.update(record.pop("metrics", {}))
    body = {"requestId": request, "metrics": metrics, "status": "success", **record}
    return json.dumps(
        {"time": "2025-01-01T00:00:00.000Z", "type": "platform.report", "record": body}
    )


MIXED = [
    "START RequestId: r1 Version: $LATEST\n",
    text_report("r1", "12.34", 64, init="150.01"),
    "[INFO]\t2025-01-01T00:00:00.000Z\tr2\thello\n",
    text_report("r2", "3000.00", 70, tail="Status: timeout\t"),
    "2025-01-01T00:00:03.000Z r2 Task timed out after 3.00 seconds\n",
    text_report("r3", "20.00", 128, tail="Status: error\tError Type: Runtime.OutOfMemory\t"),
    json_report("r4", 8.5, 32, metrics={"initDurationMs": 220.25}),
    json_report("r5", 900.0, 40, status="timeout"),
    json_report("r6", 10.0, 256, status="error", errorType="Runtime.OutOfMemory"),
    '{"level": "INFO", "message": "platform.report is a word here"}',
    "2025-01-01T00:00:04.000Z r7 Task timed out after 3.00 seconds\n",
    "REPORT RequestId: r8\tDuration: soon\n",  # malformed
    '{"type": "platform.report", "record": {"metrics": {"durationMs": "x"}}}',  # malformed
]


def run(event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = io.StringIO()
    result = process(
        decode(awslogs_data(event)), settings_of(JOB), budget=TimeBudget.seconds(30), out=out
    )
    return result, [json.loads(line) for line in out.getvalue().splitlines()]


def check_emf(doc: dict[str, Any]) -> None:
    """The EMF specification's structure, checked field by field."""
    meta = doc["_aws"]
    assert isinstance(meta["Timestamp"], int) and not isinstance(meta["Timestamp"], bool)
    assert meta["CloudWatchMetrics"], "at least one directive"
    for directive in meta["CloudWatchMetrics"]:
        assert isinstance(directive["Namespace"], str) and directive["Namespace"]
        assert 1 <= len(directive["Metrics"]) <= 100
        for dimension_set in directive["Dimensions"]:
            assert len(dimension_set) <= 30
            for key in dimension_set:
                assert isinstance(doc[key], str), f"dimension {key} missing at the root"
        for metric in directive["Metrics"]:
            value = doc[metric["Name"]]  # every metric is present at the root
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            assert metric.get("Unit", "None") in {
                "Milliseconds",
                "Megabytes",
                "Percent",
                "Count",
                "None",
            }


def function_docs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if "FunctionName" in d]


def totals(docs: list[dict[str, Any]], name: str) -> list[float]:
    values: list[float] = []
    for doc in function_docs(docs):
        if name in doc:
            value = doc[name]
            values.extend(value if isinstance(value, list) else [value])
    return values


def test_text_and_json_reports_timeouts_oom_and_bad_lines() -> None:
    result, docs = run(subscription_event("/aws/lambda/api", MIXED))
    for doc in docs:
        check_emf(doc)
    assert result["reports"] == 6 and result["malformed"] == 2 and result["events"] == len(MIXED)
    assert totals(docs, "Duration") == [12.34, 3000.0, 20.0, 8.5, 900, 10]
    assert totals(docs, "InitDuration") == [150.01, 220.25]
    assert totals(docs, "ColdStarts") == [2]
    # r2 is one timeout though two lines say so; r5 (JSON) and r7 (text only) are the others
    assert totals(docs, "Timeouts") == [3]
    assert totals(docs, "OutOfMemory") == [2]
    assert totals(docs, "MemoryUtilization") == [50.0, 54.69, 100.0, 12.5, 15.62, 100.0]
    assert {d["FunctionName"] for d in function_docs(docs)} == {"api"}
    assert function_docs(docs)[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "acme/Lambda"
    processor = next(d for d in docs if "Processor" in d)
    assert processor["MalformedLines"] == 2 and processor["LogEvents"] == len(MIXED)


def test_metrics_are_timestamped_at_the_lines_not_at_processing() -> None:
    event = subscription_event(
        "/aws/lambda/api",
        events=log_events([text_report("a", "1.00", 10)], start_ms=1_700_000_123_000),
    )
    _, docs = run(event)
    assert function_docs(docs)[0]["_aws"]["Timestamp"] == 1_700_000_123_000


def test_more_than_100_values_are_split_and_counts_go_out_once() -> None:
    lines = [text_report(f"r{i}", f"{i}.5", 50, init="1.0" if i < 3 else None) for i in range(250)]
    _, docs = run(subscription_event("/aws/lambda/worker", lines))
    mine = function_docs(docs)
    for doc in docs:
        check_emf(doc)
    assert len(mine) == 3
    assert totals(docs, "Duration") == [i + 0.5 for i in range(250)]
    assert totals(docs, "Invocations") == [250] and totals(docs, "ColdStarts") == [3]


def test_fast_and_checked_paths_agree() -> None:
    """A batch holding a broken event takes the event-by-event path: same figures for the rest."""
    good = log_events(MIXED)
    broken = [*good, "not an event", {"id": "x", "timestamp": 1}]
    fast = parse_batch(decode(awslogs_data(subscription_event("/aws/lambda/a", events=good))))
    slow = parse_batch(decode(awslogs_data(subscription_event("/aws/lambda/a", events=broken))))
    assert slow.malformed == fast.malformed + 2
    fast_stats, slow_stats = fast.functions["a"], slow.functions["a"]
    assert fast_stats.series() == slow_stats.series()
    assert fast_stats.counts() == slow_stats.counts()


def test_reports_copied_with_spaces_instead_of_tabs_are_still_counted() -> None:
    """The batch-wide scan takes tabs only; a space-separated copy falls back, losing nothing."""
    lines = [text_report("r1", "10.5", 60), text_report("r2", "20.5", 70).replace("\t", " ")]
    event = subscription_event("/aws/lambda/a", lines)
    stats = parse_batch(decode(awslogs_data(event)))
    assert stats.reports == 2 and stats.malformed == 0
    assert list(stats.functions["a"].series()["Duration"]) == ["10.5", "20.5"]


def test_custom_log_group_names_the_function_by_its_group() -> None:
    _, docs = run(subscription_event("/custom/api-logs", [text_report("a", "1.00", 10)]))
    assert function_docs(docs)[0]["FunctionName"] == "/custom/api-logs"


def test_empty_batch_writes_no_function_metrics() -> None:
    result, docs = run(subscription_event("/aws/lambda/api", []))
    assert result["reports"] == 0 and result["functions"] == []
    assert function_docs(docs) == []


class Context:
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def reports_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_JOB", json.dumps(JOB))


@pytest.mark.usefixtures("reports_job")
def test_handler_takes_every_log_group_and_skips_control_messages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = [
        handler(subscription_event("/aws/lambda/api", [text_report("a", "5.00", 10)]), Context()),
        handler(
            subscription_event("/aws/lambda/worker", [text_report("b", "7.00", 20)]), Context()
        ),
        handler(
            subscription_event("/aws/lambda/api", ["CWL CONTROL MESSAGE"], kind="CONTROL_MESSAGE"),
            Context(),
        ),
    ]
    assert [r["status"] for r in results] == ["done", "done", "control-message"]
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_function = {d["FunctionName"]: d["Duration"] for d in docs if "FunctionName" in d}
    assert by_function == {"api": [5.0], "worker": [7.0]}


@pytest.mark.usefixtures("reports_job")
def test_handler_counts_a_payload_that_does_not_decode(capsys: pytest.CaptureFixture[str]) -> None:
    result = handler({"awslogs": {"data": "bm90IGd6aXA="}}, Context())
    assert (result["status"], result["code"]) == ("rejected", "malformed")
    assert "not gzip" in result["reason"]
    out = capsys.readouterr().out
    assert '"MalformedPayloads":1' in out


@pytest.mark.usefixtures("reports_job")
def test_handler_rejects_other_events_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"awslogs\.data"):
        handler({"source": "aws.events"}, Context())
    assert capsys.readouterr().out == ""


def test_prefix_processor_keeps_only_its_groups() -> None:
    job = {**JOB, "log_groups": ["/aws/lambda/acme-*", "/ecs/web"]}
    for group, wanted in [
        ("/aws/lambda/acme-x", True),
        ("/ecs/web", True),
        ("/aws/lambda/b", False),
    ]:
        batch = decode(awslogs_data(subscription_event(group, [text_report("a", "1.00", 1)])))
        result = process(batch, settings_of(job), budget=TimeBudget.seconds(5), out=io.StringIO())
        assert (result["status"] == "done") is wanted, group
