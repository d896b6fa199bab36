"""log-streams purge against moto: quiet, busy and empty streams, chunks, caps, errors, hand-off."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.purge import log_streams
from tests.purge_helpers import NOW, FakeClock, FaultyClient, job_for, run_target

NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000
JOB = job_for(name="quiet-streams", target="log-streams", log_group_prefix="/app/", older_than="7d")
# stream -> (created days ago, last event days ago or None for an empty stream)
STREAMS = {
    "quiet": (40, 20),
    "busy": (40, 1),
    "late-backfill": (40, 3),  # old events, ingested 3 days ago: in use
    "empty-young": (2, None),
    "empty-old": (30, None),
}


class Logs(FaultyClient):
    """moto's CloudWatch Logs client with back-dated streams and injected faults.

    moto stamps creation and ingestion with the wall clock; the wrapper serves the ages the test
    declares in DescribeLogStreams answers. Listing, pagination and deletion are moto's.
    """

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.ages: dict[str, tuple[int, int | None]] = {}

    def describe_log_streams(self, **params: Any) -> Any:
        self.record("describe_log_streams")
        page = self.real.describe_log_streams(**params)
        for stream in page["logStreams"]:
            created, last = self.ages[stream["logStreamName"]]
            stream["creationTime"] = NOW_MS - created * DAY_MS
            for key in ("firstEventTimestamp", "lastEventTimestamp", "lastIngestionTime"):
                stream.pop(key, None)
            if last is not None:
                stream["lastEventTimestamp"] = NOW_MS - max(last, 15) * DAY_MS
                stream["lastIngestionTime"] = NOW_MS - last * DAY_MS
        return page

    def delete_log_stream(self, logGroupName: str, logStreamName: str) -> Any:
        self.record("delete_log_stream")
        self.fail_if_broken(logStreamName)
        return self.real.delete_log_stream(logGroupName=logGroupName, logStreamName=logStreamName)


@pytest.fixture
def estate() -> Any:
    """/app/a and /app/b hold one stream per case; /other/x is outside the prefix."""
    with mock_aws():
        real = boto3.client("logs")
        client = Logs(real)
        for group in ("/app/a", "/app/b", "/other/x"):
            real.create_log_group(logGroupName=group)
            for stream, age in STREAMS.items():
                name = f"{group.rsplit('/', 1)[1]}-{stream}"
                real.create_log_stream(logGroupName=group, logStreamName=name)
                client.ages[name] = age
        yield client


def remaining(client: Logs, group: str) -> set[str]:
    streams = client.real.describe_log_streams(logGroupName=group)["logStreams"]
    return {s["logStreamName"].split("-", 1)[1] for s in streams}


def run(client: Logs, job: dict[str, Any] | None = None, **kw: Any) -> Any:
    kw.setdefault("own_stream", (None, None))
    return run_target(log_streams.run, JOB, job, logs_client=client, **kw)


KEPT = {"busy", "late-backfill", "empty-young"}


def test_quiet_and_old_empty_streams_go_busy_and_young_ones_stay(estate) -> None:
    report = run(estate)
    assert remaining(estate, "/app/a") == KEPT and remaining(estate, "/app/b") == KEPT
    assert remaining(estate, "/other/x") == set(STREAMS)
    assert report.status == "finished" and report.deleted == 4 and report.examined == 10
    assert dict(report.kept) == {"recent-events": 4, "young-empty": 2}


def test_the_functions_own_stream_is_never_deleted(estate) -> None:
    report = run(estate, own_stream=("/app/a", "a-quiet"))
    assert remaining(estate, "/app/a") == KEPT | {"quiet"}
    assert report.kept["own-stream"] == 1


def test_dry_run_names_the_candidates_and_deletes_nothing(estate) -> None:
    report = run(estate, {"dry_run": True})
    assert remaining(estate, "/app/a") == set(STREAMS)
    assert sorted(report.candidates) == [
        "/app/a:a-empty-old",
        "/app/a:a-quiet",
        "/app/b:b-empty-old",
        "/app/b:b-quiet",
    ]
    assert "delete_log_stream" not in estate.calls


def test_a_cap_stops_before_deleting_past_it(estate) -> None:
    report = run(estate, {"max_delete_percent": 20})  # 20 % of the 5 examined in /app/a: 1
    assert report.status == "capped" and report.deleted == 1
    assert remaining(estate, "/app/a") == KEPT | {"quiet"}  # listing order: empty-old first
    assert remaining(estate, "/app/b") == set(STREAMS)


def test_throttling_and_a_failing_stream_do_not_stop_the_rest(estate) -> None:
    estate.throttle["describe_log_streams"] = 2
    estate.throttle["delete_log_stream"] = 1
    estate.broken["a-quiet"] = "OperationAbortedException"
    report = run(estate)
    assert remaining(estate, "/app/a") == KEPT | {"quiet"}
    assert remaining(estate, "/app/b") == KEPT
    assert dict(report.failed) == {"OperationAbortedException": 1}
    assert report.retries["ThrottlingException"] == 3 and report.deleted == 3


def test_chunks_with_tokens_visit_every_stream_once(estate) -> None:
    report = run(estate, chunk=2)  # 5 streams a group: three chunks, two anchors each
    assert remaining(estate, "/app/a") == KEPT and remaining(estate, "/app/b") == KEPT
    assert report.examined == 10 and report.deleted == 4 and report.failed_count == 0


@pytest.mark.parametrize("seconds", [0.5, 0.9, 1.3, 1.7])
def test_out_of_time_hands_on_a_cursor_and_the_chain_finishes_the_job(estate, seconds) -> None:
    clock = FakeClock()  # 5 requests/s: one call every 0.2 s
    first = run(estate, budget=clock.budget(seconds), clock=clock, chunk=2)
    assert first.status == "stopped-early"
    cursor = json.loads(first.cursor)
    assert cursor["deleted"] == first.deleted and cursor["group"].startswith("/app/")
    reports = [first]
    while reports[-1].status == "stopped-early":
        budget, previous = clock.budget(seconds), reports[-1].cursor
        reports.append(run(estate, budget=budget, clock=clock, chunk=2, event={"cursor": previous}))
        assert len(reports) < 20
    assert remaining(estate, "/app/a") == KEPT and remaining(estate, "/app/b") == KEPT
    assert sum(r.deleted for r in reports) == 4
    assert all(r.failed_count == 0 and "already-gone" not in r.kept for r in reports)


def test_a_malformed_cursor_is_rejected_before_any_call(estate) -> None:
    with pytest.raises(ValueError, match="malformed purge cursor"):
        run(estate, event={"cursor": '{"group": "/app/a", "stream": "x"}'})
    assert estate.calls == [] and remaining(estate, "/app/a") == set(STREAMS)


def test_the_percent_cap_counts_each_deletion_once_across_chunks(estate) -> None:
    """20 streams in two chunks of 10: 4 then 8 candidates. 50 % of 20 is 10, not 12 (this run's
    deletions were counted again as examined)."""
    estate.real.create_log_group(logGroupName="/big/x")
    quiet = {f"s{i:02d}" for i in [0, 1, 2, 3, *range(10, 18)]}
    for i in range(20):
        name = f"s{i:02d}"
        estate.real.create_log_stream(logGroupName="/big/x", logStreamName=name)
        estate.ages[name] = STREAMS["quiet" if name in quiet else "busy"]
    report = run(estate, {"log_group_prefix": "/big/", "max_delete_percent": 50}, chunk=10)
    assert (report.status, report.examined, report.deleted) == ("capped", 20, 10)
    assert report.kept["over-cap"] == 2
