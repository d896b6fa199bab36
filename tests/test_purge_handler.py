"""The purge handler: continuation hand-offs, refusing malformed events, reporting, and the
self-invoke permission the template grants only to jobs that continue."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.purge.continuation import KEY, BadContinuation
from functions.purge.handler import PurgeFailed, run_job
from ops.config import parse_config
from ops.render import render
from tests.configs import one_job
from tests.conftest import ROOT
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
    lam, event, results = Invocations(), {"source": "aws.events"}, []
    while event is not None:
        results.append(run_job(job, event, Context(checks=2), now=T0, lambda_client=lam))
        event = lam.events[len(results) - 1] if len(lam.events) == len(results) else None
    assert [r["hop"] for r in results] == [0, 1, 2]
    assert [r["status"] for r in results] == ["stopped-early", "stopped-early", "finished"]
    assert sum(r["deleted"] for r in results) == 2500  # a second delete would count again
    assert keys_left(bucket) == sorted(f"tmp/{i:04d}-new" for i in range(0, 2500, 100))
    assert lam.events[0]["cursor"] == results[0]["cursor"]
    assert lam.events[1][KEY] == {"job": "tmp-images", "hop": 2, "now": T0.isoformat()}
    assert "handed on to hop 1" in results[0]["reason"]


def test_max_hops_leaves_the_rest_to_the_next_schedule(bucket) -> None:
    put([f"tmp/{i:04d}" for i in range(2500)], age=2 * HOUR)
    job = {**JOB, "on_timeout": "continue", "max_hops": 3}
    event = {"cursor": "tmp/0000", KEY: {"job": "tmp-images", "hop": 3, "now": T0.isoformat()}}
    lam = Invocations()
    result = run_job(job, event, Context(checks=2), now=datetime.now(UTC), lambda_client=lam)
    assert lam.events == [] and result["status"] == "stopped-early"
    assert result["reason"].endswith("max_hops=3 reached, the next schedule continues")


def test_next_schedule_jobs_do_not_invoke_themselves(bucket) -> None:
    put([f"tmp/{i:04d}" for i in range(2500)], age=2 * HOUR)
    lam = Invocations()
    result = run_job(JOB, {}, Context(checks=2), now=T0, lambda_client=lam)
    assert lam.events == [] and result["continuation"] is None
    assert result["reason"] == "the time budget ran out; the next schedule continues"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({KEY: "tmp/0001"}, "ops_continuation must be an object"),
        (
            {KEY: {"job": "other", "hop": 1, "now": T0.isoformat()}, "cursor": "a"},
            "for job 'other'",
        ),
        ({KEY: {"job": "tmp-images", "hop": 0, "now": T0.isoformat()}, "cursor": "a"}, "hop must"),
        ({KEY: {"job": "tmp-images", "hop": 1, "now": "2030-01-01"}, "cursor": "a"}, "with a zone"),
        ({KEY: {"job": "tmp-images", "hop": 1, "now": T0.isoformat()}}, "cursor must be"),
    ],
)
def test_a_malformed_continuation_is_refused_without_side_effects(bucket, event, message) -> None:
    put(["tmp/a"], age=2 * HOUR)
    with pytest.raises(BadContinuation, match=message):
        run_job(JOB, event, Context(), now=T0, lambda_client=Invocations())
    assert keys_left(bucket) == ["tmp/a"]


def test_a_capped_run_logs_its_report_then_fails(bucket, capsys) -> None:
    put([f"tmp/{i:04d}" for i in range(30)], age=2 * HOUR)
    with pytest.raises(PurgeFailed, match="capped: stopped before deleting past max_deletes=10"):
        run_job({**JOB, "max_deletes": 10}, {}, Context(), now=T0)
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
