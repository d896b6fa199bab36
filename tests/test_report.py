"""`ops report`: the jobs' report lines read back, on a moto server (FilterLogEvents) and through
a botocore Stubber for Logs Insights, which moto does not answer as AWS does (it ignores the
query's filter and limit and gives `@timestamp` in epoch milliseconds)."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from functions.purge.report import PurgeReport
from functions.runtime import log
from ops.cli import cli
from ops.operate import logsource
from ops.operate.logsource import INSIGHTS_ROWS, LogLine, filter_events, insights_events
from ops.operate.report import INSIGHTS_FILTER, JobSummary, summarise
from tests.configs import two_jobs

REGION = "eu-west-1"
STACK = "acme-report"
TMP = f"/aws/lambda/{STACK}-purge-tmp-images"
OLD = f"/aws/lambda/{STACK}-purge-old-logs"


def report_line(job: str, request: str, **fields: Any) -> str:
    """The line the purge handler logs, made by the functions' own logger."""
    report = PurgeReport(job=job, target="s3", dry_run=False)
    for key, value in fields.items():
        setattr(report, key, value)
    out = io.StringIO()
    log.bind(job=job, target="s3", request_id=request)
    log.log("INFO", "purge report", stream=out, report={**report.as_dict(), "hop": 0})
    log.bind()
    return out.getvalue().strip()


def put(logs: Any, group: str, messages: list[str], at: int) -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/03/[$LATEST]abc")
    for start in range(0, len(messages), 10_000):
        batch = messages[start : start + 10_000]
        logs.put_log_events(
            logGroupName=group,
            logStreamName="2026/12/03/[$LATEST]abc",
            logEvents=[{"timestamp": at + i, "message": m} for i, m in enumerate(batch)],
        )


@pytest.fixture
def stack(moto_endpoint: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cfn = boto3.client("cloudformation", region_name=REGION, endpoint_url=moto_endpoint)
    body = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(body))
    config = tmp_path / "ops.toml"
    config.write_text(two_jobs(STACK))
    yield moto_endpoint, config
    cfn.delete_stack(StackName=STACK)
    logs = boto3.client("logs", region_name=REGION, endpoint_url=moto_endpoint)
    for group in (TMP, OLD):
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=group)


def run(endpoint: str, config: Path, *args: str) -> Any:
    argv = ["report", "--config", str(config), "--region", REGION, "--endpoint-url", endpoint]
    return CliRunner().invoke(cli, [*argv, *args])


@pytest.mark.e2e
def test_report_reads_every_page_of_filter_log_events_on_moto(stack: tuple[str, Path]) -> None:
    endpoint, config = stack
    logs = boto3.client("logs", region_name=REGION, endpoint_url=endpoint)
    now = int(time.time() * 1000) - 60_000
    # 12,000 runs: more than one page of FilterLogEvents (10,000 events at most)
    lines = [report_line("tmp-images", f"r{i}", examined=3, deleted=2) for i in range(12_000)]
    put(logs, TMP, [*lines, "START RequestId: x", "some other line"], now - 30_000)
    result = run(endpoint, config, "--source", "filter", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["job"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["tmp-images"]["runs"] == 12_000
    assert rows["tmp-images"]["deleted"] == 24_000
    assert rows["tmp-images"]["runs_failed"] == 0
    assert rows["old-logs"] == {**rows["old-logs"], "runs": 0, "logs_found": False}


@pytest.mark.e2e
def test_a_failed_run_comes_first_and_exits_1(stack: tuple[str, Path]) -> None:
    endpoint, config = stack
    logs = boto3.client("logs", region_name=REGION, endpoint_url=endpoint)
    now = int(time.time() * 1000) - 60_000
    put(logs, TMP, [report_line("tmp-images", "ok", examined=5, deleted=5)], now)
    capped = report_line(
        "tmp-images", "capped", examined=10, deleted=1, status="capped", reason="max_deletes=1"
    )
    put(
        logs,
        OLD,
        [report_line("old-logs", "a", examined=1), capped.replace("tmp-images", "old-logs")],
        now,
    )
    result = run(endpoint, config, "--source", "filter")
    assert result.exit_code == 1
    table = result.stdout.splitlines()
    assert table[0] == f"Region {REGION}:"
    assert table[2].split()[:4] == ["old-logs", "purge", "2", "1/2"]
    assert "purge capped: max_deletes=1" in table[2]
    assert table[3].split()[:4] == ["tmp-images", "purge", "1", "0/1"]


@pytest.mark.e2e
def test_older_lines_than_since_are_left_out(stack: tuple[str, Path]) -> None:
    endpoint, config = stack
    logs = boto3.client("logs", region_name=REGION, endpoint_url=endpoint)
    old = int(time.time() * 1000) - 2 * 3600_000
    put(logs, TMP, [report_line("tmp-images", "old", status="failed", reason="boom")], old)
    result = run(endpoint, config, "--source", "filter", "--since", "1h", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["job"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["tmp-images"]["runs"] == 0


@pytest.mark.e2e
def test_a_stack_that_does_not_exist_exits_2(moto_endpoint: str, tmp_path: Path) -> None:
    config = tmp_path / "ops.toml"
    config.write_text(two_jobs("never-deployed"))
    result = run(moto_endpoint, config)
    assert result.exit_code == 2
    assert "stack never-deployed does not exist in eu-west-1" in result.stderr
    assert result.stdout == ""


# ---- Logs Insights, which moto does not answer as AWS does: a botocore Stubber ------------
def _row(at: str, message: str, group: str = TMP) -> list[dict[str, str]]:
    return [
        {"field": "@timestamp", "value": at},
        {"field": "@message", "value": message},
        {"field": "@log", "value": f"123456789012:{group}"},
        {"field": "@logStream", "value": "s"},
        {"field": "@ptr", "value": "x"},
    ]


def _query(start: int, end: int) -> dict[str, Any]:
    return {
        "logGroupNames": [TMP],
        "startTime": start,
        "endTime": end,
        "queryString": (
            "fields @timestamp, @message, @log, @logStream"
            f" | filter {INSIGHTS_FILTER} | sort @timestamp asc | limit {INSIGHTS_ROWS}"
        ),
    }


def test_insights_botocore_stubber_polls_then_splits_a_full_window() -> None:
    logs = boto3.client("logs", region_name=REGION)
    t0 = 1796292000  # 2026-12-03 10:00:00 UTC
    full = [_row("2026-12-03 10:00:00.000", "REPORT RequestId: a")] * INSIGHTS_ROWS
    with Stubber(logs) as stub:
        # whole seconds, the end rounded up; a full answer is asked again in two halves
        stub.add_response("start_query", {"queryId": "q1"}, _query(t0, t0 + 10))
        stub.add_response("get_query_results", {"status": "Running", "results": []})
        stub.add_response("get_query_results", {"status": "Complete", "results": full})
        stub.add_response("start_query", {"queryId": "q2"}, _query(t0, t0 + 4))
        first = [
            _row("2026-12-03 10:00:01.500", "REPORT RequestId: b"),
            _row("2026-12-03 10:00:04.100", "REPORT RequestId: in the second half"),
        ]
        stub.add_response("get_query_results", {"status": "Complete", "results": first})
        stub.add_response("start_query", {"queryId": "q3"}, _query(t0 + 4, t0 + 10))
        second = [
            _row("2026-12-03 10:00:04.100", "REPORT RequestId: in the second half"),
            _row("2026-12-03 10:00:09.999", "REPORT RequestId: c"),
        ]
        stub.add_response("get_query_results", {"status": "Complete", "results": second})
        lines = insights_events(
            logs, [TMP], t0 * 1000, t0 * 1000 + 9_999, INSIGHTS_FILTER, sleep=lambda _s: None
        )
        stub.assert_no_pending_responses()
    # oldest first, each once; AWS's "YYYY-MM-DD HH:MM:SS.fff" read as UTC; no account in @log
    assert [line.message[18:] for line in lines] == ["b", "in the second half", "c"]
    assert lines[0].timestamp == t0 * 1000 + 1500
    assert lines[0].group == TMP


def test_insights_botocore_stubber_access_denied_falls_back_to_filter_log_events() -> None:
    logs = boto3.client("logs", region_name=REGION)
    warnings: list[str] = []
    with Stubber(logs) as stub:
        stub.add_client_error("start_query", "AccessDeniedException", "no logs:StartQuery")
        event = {"timestamp": 5, "message": "REPORT RequestId: z", "logStreamName": "s"}
        stub.add_response("filter_log_events", {"events": [event], "nextToken": "t"})
        stub.add_response("filter_log_events", {"events": [{**event, "timestamp": 6}]})
        got = list(
            logsource.read_lines(
                logs, [TMP], 0, 10, insights_filter="x", pattern="p", warn=warnings.append
            )
        )
        stub.assert_no_pending_responses()
    assert [line.timestamp for line in got] == [5, 6]
    assert "AccessDeniedException" in warnings[0]


def test_insights_botocore_stubber_a_failed_query_is_unavailable_with_source_insights() -> None:
    logs = boto3.client("logs", region_name=REGION)
    with Stubber(logs) as stub:
        stub.add_response("start_query", {"queryId": "q"})
        stub.add_response("get_query_results", {"status": "Failed", "results": []})
        with pytest.raises(logsource.InsightsUnavailable, match="ended Failed"):
            list(
                logsource.read_lines(
                    logs, [TMP], 0, 10, insights_filter="x", pattern="p", source="insights"
                )
            )


# ---- what the lines add up to ------------------------------------------------------------
def _summary(*messages: str, family: str = "purge") -> JobSummary:
    lines = [LogLine(i, TMP, "s", m) for i, m in enumerate(messages)]
    summary = JobSummary("tmp-images", family, TMP.rpartition("/")[2])
    return summarise({summary.function: summary}, lines)[0]


def test_lambda_timeouts_and_error_statuses_are_failed_runs() -> None:
    s = _summary(
        "2026-12-03T10:00:00.000Z r1 Task timed out after 60.00 seconds",
        "REPORT RequestId: r1\tDuration: 60000.00 ms\tBilled Duration: 60000 ms\tStatus: timeout",
        "REPORT RequestId: r2\tDuration: 1.00 ms\tBilled Duration: 1 ms",
    )
    assert (len(s.runs), len(s.failed_runs)) == (2, 1)
    assert "Task timed out after 60.00 seconds" in s.last_error


def test_deploy_and_responder_reports_count_actions_and_reasons() -> None:
    deploy = json.dumps(
        {
            "message": "deploy report",
            "request_id": "d1",
            "report": {
                "records": [
                    {"status": "deployed", "function": "api"},
                    {"status": "skipped", "reason": "duplicate"},
                    {"status": "failed", "function": "worker", "reason": "smoke test failed"},
                ]
            },
        }
    )
    d = _summary(deploy, family="deployer")
    assert (d.deployed, d.skipped, d.failed, len(d.failed_runs)) == (1, 1, 1, 1)
    assert d.last_error == "deploy of worker failed: smoke test failed"
    respond = json.dumps(
        {
            "message": "responder report",
            "request_id": "x",
            "report": {
                "outcomes": [
                    {"status": "acted", "reason": "raised to 150"},
                    {"status": "skipped", "code": "cooldown", "reason": "cooling down"},
                ]
            },
        }
    )
    r = _summary(respond, "not json {", family="responder")
    assert (r.acted, r.skipped, dict(r.skip_reasons), r.failed_runs) == (
        1,
        1,
        {"cooldown": 1},
        set(),
    )


def test_filter_events_of_no_groups_asks_nothing() -> None:
    logs = boto3.client("logs", region_name=REGION)
    with Stubber(logs):
        assert filter_events(logs, [], 0, 1) == []
