"""The purge handler: continuation hand-offs, refusing malformed events, reporting, and the
self-invoke permission the template grants only to jobs that continue."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from functions.purge.continuation import KEY, fingerprint
from functions.purge.handler import PurgeFailed, run_job, settings_of
from ops.config import parse_config
from ops.render import render
from tests.configs import one_job
from tests.conftest import ROOT, load_event
from tests.test_purge_s3 import BUCKET, HOUR, JOB, T0, keys_left, put


class Context:
    """Lambda's context; the clock runs out after `checks` checks by the handler's thread, so
    where a run stops does not depend on the machine's speed."""

    function_name = "acme-ops-purge-tmp-images"
    aws_request_id = "req-1"

    def __init__(self, checks: int = 10_000) -> None:
        self.checks, self.calls = checks, 0

    def get_remaining_time_in_millis(self) -> int:
        if threading.current_thread() is threading.main_thread():
            self.calls += 1
        return 900_000 if self.calls <= self.checks else 5_000


class Invocations:
    """A Lambda client that records asynchronous invokes instead of running them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        assert (FunctionName, InvocationType) == (Context.function_name, "Event")
        self.events.append(json.loads(Payload))
        return {"StatusCode": 202}


@pytest.fixture
def bucket():  # type: ignore[no-untyped-def]
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def test_hand_offs_resume_where_they_stopped_nothing_twice_nothing_skipped(bucket) -> None:
    old = [f"tmp/{i:04d}" for i in range(2500)]
    put(old, age=2 * HOUR)
    put([f"tmp/{i:04d}-new" for i in range(0, 2500, 100)], age=timedelta(minutes=5))
    job = {**JOB, "on_timeout": "continue", "max_hops": 10}
    lam, results = Invocations(), []
    event: dict[str, Any] | None = {"source": "aws.events", "detail-type": "Scheduled Event"}
    while event is not None:
        results.append(
            run_job(settings_of(job), event, Context(checks=2), now=T0, lambda_client=lam)
        )
        event = lam.events[len(results) - 1] if len(lam.events) == len(results) else None
    assert [r["hop"] for r in results] == [0, 1, 2]
    assert [r["status"] for r in results] == ["stopped-early", "stopped-early", "finished"]
    assert sum(r["deleted"] for r in results) == 2500  # a second delete would count again
    assert keys_left(bucket) == sorted(f"tmp/{i:04d}-new" for i in range(0, 2500, 100))
    assert lam.events[0]["cursor"] == results[0]["cursor"]
    cutoff = (T0 - HOUR).isoformat()
    settings = fingerprint(settings_of(job))
    assert lam.events[1][KEY] == {
        "job": "tmp-images",
        "hop": 2,
        "cutoff": cutoff,
        "settings": settings,
    }
    assert "handed on to hop 1" in results[0]["reason"]


def test_max_hops_leaves_the_rest_to_the_next_schedule(bucket) -> None:
    put([f"tmp/{i:04d}" for i in range(2500)], age=2 * HOUR)
    job = {**JOB, "on_timeout": "continue", "max_hops": 3}
    event = continuation(job, cursor={"key": "tmp/0000", "deleted": 0}, hop=3)
    lam = Invocations()
    result = run_job(settings_of(job), event, Context(checks=2), now=T0, lambda_client=lam)
    assert lam.events == [] and result["status"] == "stopped-early"
    assert result["reason"].endswith("max_hops=3 reached, the next schedule continues")


def test_next_schedule_jobs_do_not_invoke_themselves(bucket) -> None:
    put([f"tmp/{i:04d}" for i in range(2500)], age=2 * HOUR)
    lam = Invocations()
    result = run_job(settings_of(JOB), {}, Context(checks=2), now=T0, lambda_client=lam)
    assert lam.events == [] and result["continuation"] is None
    assert result["reason"] == "the time budget ran out; the next schedule continues"


def continuation(
    of: dict[str, Any] = JOB,
    *,
    cursor: dict[str, Any] | str | None = None,
    hop: int = 1,
    at: datetime = T0 - HOUR,
    **fields: Any,
) -> dict[str, Any]:
    """A hand-off as job `of` writes it (cutoff `at`), with `fields` of the block changed."""
    raw = (
        cursor if isinstance(cursor, str) else json.dumps(cursor or {"key": "tmp/0", "deleted": 0})
    )
    body = {"job": of["name"], "hop": hop, "cutoff": at.isoformat()}
    body["settings"] = fingerprint(settings_of(of))
    return {"cursor": raw, KEY: {**body, **fields}}


def rejected(job: dict[str, Any], event: Any, **kw: Any) -> dict[str, Any]:
    """Run `event` with clients that fail the test on any call; the result must be a refusal."""
    s3, lam = mock.Mock(spec=[]), Invocations()
    result = run_job(
        settings_of(job), event, Context(), now=T0, lambda_client=lam, clients={"s3": s3}, **kw
    )
    assert result["status"] == "rejected" and (result["examined"], result["deleted"]) == (0, 0)
    assert s3.mock_calls == [] and lam.events == []
    return result


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({KEY: "tmp/0001"}, "ops_continuation must be an object"),
        (continuation(job="other"), "for job 'other'"),
        (continuation(hop=0), "hop must be a whole number from 1 to max_hops=10"),
        (continuation(hop=11), "hop must be a whole number from 1 to max_hops=10"),
        (continuation(hop=True), "hop must"),
        (continuation(cutoff="2030-01-01"), "with a zone"),
        (continuation(settings="0" * 32), "settings do not match"),
        ({**continuation(), "cursor": None}, "cursor must be"),
        ({**continuation(), "extra": 1}, "unexpected extra"),
        # The format before cutoffs were checked: `now` travelled and was trusted.
        (
            {
                "cursor": "tmp/0",
                KEY: {"job": "tmp-images", "hop": 1, "now": "2100-01-01T00:00:00+00:00"},
            },
            "unexpected ops_continuation.now; missing ops_continuation.cutoff",
        ),
        (continuation(cursor={"key": "tmp/0", "deleted": -3}), "deleted` must be a whole number"),
        (continuation(cursor={"key": "tmp/0", "deleted": 1.5}), "deleted` must be a whole number"),
        (continuation(cursor="tmp/0"), "malformed purge cursor"),
    ],
)
def test_a_malformed_continuation_is_rejected_without_side_effects(bucket, event, message) -> None:
    put(["tmp/a"], age=2 * HOUR)
    result = rejected(JOB, event)
    assert message in result["reason"]
    assert keys_left(bucket) == ["tmp/a"]


def test_the_rejection_is_one_log_line_and_a_metric_not_an_error(bucket, capsys) -> None:
    result = rejected(JOB, continuation(cursor={"key": "tmp/0", "deleted": -3}))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [warning] = [line for line in lines if line.get("message") == "purge event rejected"]
    assert warning["level"] == "WARNING" and warning["reason"] == result["reason"]
    assert next(line for line in lines if "_aws" in line)["Rejected"] == 1


def test_a_continuation_never_cuts_off_later_than_the_clock(bucket) -> None:
    """A far-future cutoff in the event must not make objects written seconds ago "old"."""
    put(["tmp/fresh"], age=timedelta(seconds=5))
    put(["tmp/old"], age=2 * HOUR)
    event = continuation(cursor={"deleted": 0}, at=datetime(2100, 1, 1, tzinfo=UTC))
    result = run_job(settings_of(JOB), event, Context(), now=T0, lambda_client=Invocations())
    assert (result["status"], result["deleted"]) == ("finished", 1)
    assert keys_left(bucket) == ["tmp/fresh"]


def test_a_continuation_keeps_its_earlier_cutoff_across_hops(bucket) -> None:
    """The chain's cutoff stays where the first run put it, though the clock moved on."""
    put(["tmp/a"], age=90 * timedelta(minutes=1))
    put(["tmp/b"], age=30 * timedelta(minutes=1))
    event = continuation(cursor={"deleted": 0}, at=T0 - 2 * HOUR)
    later = T0 + HOUR  # both are over an hour old by now, but the chain's cutoff is earlier
    result = run_job(settings_of(JOB), event, Context(), now=later, lambda_client=Invocations())
    assert result["deleted"] == 0 and keys_left(bucket) == ["tmp/a", "tmp/b"]


def test_a_negative_count_cannot_lift_max_deletes(bucket) -> None:
    """max_deletes=1: a crafted cursor claiming -3 deleted must not buy three more deletions."""
    put([f"tmp/{i}" for i in range(4)], age=2 * HOUR)
    job = {**JOB, "max_deletes": 1}
    rejected(job, continuation(job, cursor={"deleted": -3}))
    rejected(job, {"cursor": json.dumps({"deleted": -3})})  # without the continuation block
    assert len(keys_left(bucket)) == 4
    with pytest.raises(PurgeFailed, match="max_deletes=1"):
        run_job(settings_of(job), continuation(job, cursor={"deleted": 0}), Context(), now=T0)
    assert len(keys_left(bucket)) == 3


def awslogs() -> dict[str, Any]:
    return {"awslogs": {"data": "H4sIAAAAAAAAA6tWKkktLlGyUlAqS8wpTVWqBQBk3gQnEQAAAA=="}}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (load_event("s3_deploy_put.json"), "Records (aws:s3)"),
        (load_event("alarm_sns_threshold.json"), "Records (aws:sns)"),
        (load_event("alarm_eventbridge_threshold.json"), "CloudWatch alarm event"),
        (load_event("alarm_lambda_anomaly.json"), "an event from 'aws.cloudwatch'"),
        (awslogs(), "CloudWatch Logs subscription payload"),
        ({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}, "from 'aws.s3'"),
        ({"source": "aws.events", "detail-type": "Custom"}, "from 'aws.events' ('Custom')"),
        ({"source": "acme.app", "detail-type": "Scheduled Event"}, "from 'acme.app'"),
        ({"cursor": "tmp/0"}, "a cursor without its ops_continuation"),
        ({"source": "aws.events", "detail-type": "Scheduled Event", "cursor": "x"}, "cursor"),
        ({"source": "aws.events", "detail-type": "Scheduled Event", "x": 1}, "extra fields"),
        ({"hello": "world"}, "an event with keys ['hello']"),
        (["tmp/a"], "a list event"),
        ("run", "a str event"),
    ],
)
def test_events_from_other_sources_are_refused_and_nothing_is_deleted(
    bucket, event, message
) -> None:
    put(["tmp/a"], age=2 * HOUR)
    result = rejected(JOB, event)
    assert message in result["reason"] and "runs only on its own schedule" in result["reason"]
    assert keys_left(bucket) == ["tmp/a"]


@pytest.mark.parametrize(
    "event",
    [
        {},  # EventBridge Scheduler, no input
        {
            "version": "0",
            "id": "1",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2030-01-01T12:00:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/r"],
            "detail": {},
        },
        {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}},
    ],
)
def test_its_own_schedule_starts_it(bucket, event) -> None:
    put(["tmp/a"], age=2 * HOUR)
    put(["tmp/b"], age=timedelta(seconds=5))
    result = run_job(settings_of(JOB), event, Context(), now=T0)
    assert (result["status"], result["deleted"], keys_left(bucket)) == ("finished", 1, ["tmp/b"])


def test_a_capped_run_logs_its_report_then_fails(bucket, capsys) -> None:
    put([f"tmp/{i:04d}" for i in range(30)], age=2 * HOUR)
    with pytest.raises(PurgeFailed, match="capped: stopped before deleting past max_deletes=10"):
        run_job(settings_of({**JOB, "max_deletes": 10}), {}, Context(), now=T0)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    report = next(line["report"] for line in lines if line.get("message") == "purge report")
    assert (report["deleted"], report["status"]) == (10, "capped")
    emf = next(line for line in lines if "_aws" in line)
    assert (emf["Capped"], emf["Deleted"], emf["Job"]) == (1, 10, "tmp-images")
    assert len(keys_left(bucket)) == 20


CONFIG = one_job()


def role_statements(text: str) -> dict[str, Any]:
    import tomllib

    tpl = json.loads(render(parse_config(tomllib.loads(text), ROOT / "ops.toml")))
    [policy] = tpl["Resources"]["PurgeTmpImagesRole"]["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_only_continuing_jobs_may_invoke_their_own_function_and_nothing_else() -> None:
    assert "HandOnToItself" not in role_statements(CONFIG)
    statement = role_statements(CONFIG + 'on_timeout = "continue"\n')["HandOnToItself"]
    assert statement["Action"] == ["lambda:InvokeFunction"]
    assert statement["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
            "function:acme-ops-purge-tmp-images"
        }
    ]
