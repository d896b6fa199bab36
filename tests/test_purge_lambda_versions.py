"""lambda-versions purge against moto: every keep-rule, caps, dry run, errors, pacing, hand-off."""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.purge import lambda_versions
from functions.purge.pacing import TokenBucket
from tests.purge_helpers import DAY, NOW, FakeClock, FaultyClient, error, job_for, run_target

JOB = job_for(
    name="old-versions", target="lambda-versions", function_prefix="app-", keep=2, older_than="7d"
)


class Lambda(FaultyClient):
    """moto's Lambda client plus what moto does not model, and injected faults.

    moto answers ListProvisionedConcurrencyConfigs with "not implemented" and stamps every
    version with the time it was published, so this wrapper serves provisioned concurrency
    configs and back-dates versions; everything else is moto's.
    """

    THROTTLE = ("TooManyRequestsException", 429)

    def __init__(self, real: Any, clock: FakeClock | None = None) -> None:
        super().__init__(real, clock)
        self.provisioned: dict[str, list[str]] = {}
        self.ages: dict[tuple[str, str], timedelta] = {}  # (function, version) -> age
        self.default_age = 30 * DAY

    def list_provisioned_concurrency_configs(self, FunctionName: str, **_: Any) -> Any:
        self.record("list_provisioned_concurrency_configs")
        arn = self.real.get_function(FunctionName=FunctionName)["Configuration"]["FunctionArn"]
        versions = self.provisioned.get(FunctionName, [])
        return {"ProvisionedConcurrencyConfigs": [{"FunctionArn": f"{arn}:{v}"} for v in versions]}

    def list_versions_by_function(self, **params: Any) -> Any:
        self.record("list_versions_by_function")
        page = self.real.list_versions_by_function(**params)
        for v in page["Versions"]:
            age = self.ages.get((params["FunctionName"], v["Version"]), self.default_age)
            v["LastModified"] = (NOW - age).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        return page

    def delete_function(self, FunctionName: str, Qualifier: str) -> Any:
        self.record("delete_function")
        self.fail_if_broken((FunctionName, Qualifier))
        return self.real.delete_function(FunctionName=FunctionName, Qualifier=Qualifier)


def code_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def make_function(client: Any, role: str, name: str, versions: int, tags: dict[str, str]) -> str:
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code_zip()},
        Tags=tags,
    )
    for n in range(versions):
        client.update_function_configuration(FunctionName=name, Description=f"release {n + 1}")
        client.publish_version(FunctionName=name)
    return str(client.get_function(FunctionName=name)["Configuration"]["FunctionArn"])


@pytest.fixture
def estate() -> Any:
    """app-api: one version per keep-rule; app-worker: plain old versions; other-fn: unselected."""
    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        role_arn = role["Role"]["Arn"]
        real = boto3.client("lambda")
        api = make_function(real, role_arn, "app-api", 10, {"team": "payments"})
        make_function(real, role_arn, "app-worker", 4, {"team": "search"})
        make_function(real, role_arn, "other-fn", 4, {"team": "payments"})
        real.create_alias(FunctionName="app-api", Name="live", FunctionVersion="2")
        real.create_alias(
            FunctionName="app-api",
            Name="canary",
            FunctionVersion="8",
            RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}},
        )
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        real.create_event_source_mapping(
            EventSourceArn=queue_arn["Attributes"]["QueueArn"], FunctionName=f"{api}:1"
        )
        clock = FakeClock()
        client = Lambda(real, clock)
        client.provisioned["app-api"] = ["4"]
        client.ages[("app-api", "8")] = 1 * DAY  # young, and the canary's primary
        client.ages[("app-api", "7")] = 2 * DAY  # young only
        yield client, clock


def versions(client: Lambda, name: str) -> list[str]:
    page = client.real.list_versions_by_function(FunctionName=name)
    return [v["Version"] for v in page["Versions"] if v["Version"] != "$LATEST"]


def run(client: Lambda, clock: FakeClock, job: dict[str, Any] | None = None, **kw: Any) -> Any:
    tagging = boto3.client("resourcegroupstaggingapi")
    return run_target(
        lambda_versions.run,
        JOB,
        job,
        lambda_client=client,
        tagging_client=tagging,
        clock=clock,
        **kw,
    )


def test_every_keep_rule_holds_and_only_unused_old_versions_go(estate) -> None:
    client, clock = estate
    report = run(client, clock)
    assert versions(client, "app-api") == ["1", "2", "3", "4", "7", "8", "9", "10"]
    assert versions(client, "app-worker") == ["3", "4"]
    assert versions(client, "other-fn") == ["1", "2", "3", "4"]  # outside the prefix
    assert report.status == "finished" and report.deleted == 4 and report.examined == 14
    assert dict(report.kept) == {
        "event-source-mapping": 1,
        "alias": 2,  # live -> 2, canary -> 8
        "alias-routing": 1,
        "provisioned-concurrency": 1,
        "younger-than-cutoff": 1,  # 7 (8 is kept by its alias first)
        "newest": 4,  # 9, 10 of app-api; 3, 4 of app-worker
    }


def test_tags_narrow_the_selection_through_the_tagging_api(estate) -> None:
    client, clock = estate
    report = run(client, clock, {"tags": {"team": "payments"}})
    assert versions(client, "app-api") == ["1", "2", "3", "4", "7", "8", "9", "10"]
    assert versions(client, "app-worker") == ["1", "2", "3", "4"]  # other team
    assert versions(client, "other-fn") == ["1", "2", "3", "4"]  # tagged, but not app-
    assert report.api_calls["GetResources"] == 1 and "ListFunctions" not in report.api_calls


def test_dry_run_reports_the_candidates_and_deletes_nothing(estate) -> None:
    client, clock = estate
    report = run(client, clock, {"dry_run": True})
    assert versions(client, "app-api") == [str(n) for n in range(1, 11)]
    assert versions(client, "app-worker") == ["1", "2", "3", "4"]
    assert report.deleted == 4 and report.metrics()["Deleted"] == 0
    names = sorted(c.split(":function:")[1] for c in report.candidates)
    assert names == ["app-api:5", "app-api:6", "app-worker:1", "app-worker:2"]
    assert "delete_function" not in client.calls


@pytest.mark.parametrize("caps", [{"max_deletes": 2}, {"max_delete_percent": 20}])
def test_a_cap_stops_the_run_before_deleting_past_it(estate, caps) -> None:
    client, clock = estate
    report = run(client, clock, caps)
    assert report.status == "capped" and report.deleted == 2  # 20 % of 14 examined is 2
    assert report.kept["over-cap"] == 2 and "allows 2" in report.reason
    # the oldest go first (all are 30 days old: then by function and version)
    assert versions(client, "app-api") == ["1", "2", "3", "4", "7", "8", "9", "10"]
    assert versions(client, "app-worker") == ["1", "2", "3", "4"]


def test_throttling_is_retried_and_one_failing_version_does_not_stop_the_rest(estate) -> None:
    client, clock = estate
    client.throttle["delete_function"] = 3
    client.throttle["list_aliases"] = 1
    client.broken[("app-worker", "1")] = "AccessDeniedException"
    client.broken[("app-api", "5")] = "InvalidParameterValueException"  # not about replicas
    report = run(client, clock)
    assert versions(client, "app-api") == ["1", "2", "3", "4", "5", "7", "8", "9", "10"]
    assert versions(client, "app-worker") == ["1", "3", "4"]
    assert report.deleted == 2
    assert dict(report.failed) == {
        "AccessDeniedException": 1,
        "InvalidParameterValueException": 1,
    }
    assert report.retries["TooManyRequestsException"] == 4
    assert {f["item"].split(":function:")[1] for f in report.failures} == {
        "app-worker:1",
        "app-api:5",
    }


REPLICATED = (
    "Lambda was unable to delete arn:aws:lambda:us-east-1:123456789012:function:app-api:5 "
    "because it is a replicated function. Please see our documentation for Deleting "
    "Lambda@Edge Functions and Replicas."
)


def test_versions_lambda_refuses_to_delete_by_design_are_kept_with_the_reason(estate) -> None:
    client, clock = estate
    client.broken[("app-api", "5")] = error("InvalidParameterValueException", 400, REPLICATED)
    client.broken[("app-worker", "1")] = error("ResourceConflictException", 409)
    report = run(client, clock)
    assert versions(client, "app-api") == ["1", "2", "3", "4", "5", "7", "8", "9", "10"]
    assert versions(client, "app-worker") == ["1", "3", "4"]
    assert report.deleted == 2 and report.kept["replicated"] == 1 and report.kept["conflict"] == 1
    # nothing failed, so the handler does not fail the invocation every run
    assert report.status == "finished" and report.failed_count == 0 and report.failures == []


def test_throttling_that_outlasts_the_retries_is_a_failure(estate) -> None:
    client, clock = estate
    client.throttle["delete_function"] = 8  # every attempt at the first (oldest) version
    report = run(client, clock)
    assert versions(client, "app-api") == ["1", "2", "3", "4", "5", "7", "8", "9", "10"]
    assert report.deleted == 3 and dict(report.failed) == {"TooManyRequestsException": 1}
    assert report.retries["TooManyRequestsException"] == 7
    assert "TooManyRequestsException" not in report.kept


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (error("InvalidParameterValueException", 400, REPLICATED), "replicated"),
        (error("ResourceConflictException", 409), "conflict"),
        (error("InvalidParameterValueException", 400, "Invalid qualifier"), None),
        (error("AccessDeniedException", 403, "not authorized: replicated"), None),
        (error("TooManyRequestsException", 429), None),
        (error("ServiceException", 500), None),
    ],
)
def test_only_deletions_lambda_refuses_by_design_are_undeletable(exc, reason) -> None:
    assert lambda_versions.undeletable(exc) == reason


def test_the_token_bucket_keeps_the_lambda_request_rate_under_max_rate(estate) -> None:
    client, clock = estate
    report = run(client, clock, {"max_rate": 2.0})
    times = client.times
    assert len(times) == sum(
        report.api_calls[op] for op in report.api_calls if op != "GetResources"
    )
    assert len(times) == 12  # ListFunctions, ListEventSourceMappings, 3 per function, 4 deletes
    elapsed = times[-1] - times[0]
    assert (len(times) - 1) / elapsed <= 2.0 + 1e-9
    # and in every one-second window, at most the bucket's burst plus the rate
    assert max(sum(1 for t in times if s <= t < s + 1) for s in times) <= 3


def test_token_bucket_spaces_requests_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, clock=clock)
    stamps = []
    for _ in range(51):
        bucket.take()
        stamps.append(clock.now)
    assert stamps[-1] - stamps[0] == pytest.approx(10.0)
    assert all(b - a == pytest.approx(0.2) for a, b in itertools.pairwise(stamps))


@pytest.mark.parametrize(
    ("seconds", "resume_at"),
    [(1.9, "app-worker"), (1.3, "app-worker")],  # out of time deleting / planning
)
def test_a_stopped_run_hands_on_a_cursor_and_the_next_resumes_without_repeats(
    estate, seconds, resume_at
) -> None:
    client, clock = estate
    # at 5 requests/s: 12 calls would take 2.2 s
    first = run(client, clock, budget=clock.budget(seconds))
    assert first.status == "stopped-early" and 0 < first.deleted < 4
    cursor = json.loads(first.cursor)
    assert cursor == {"deleted": first.deleted, "function": resume_at}
    second = run(client, clock, event={"cursor": first.cursor})
    assert second.status == "finished"
    assert first.deleted + second.deleted == 4 and "already-gone" not in second.kept
    assert versions(client, "app-api") == ["1", "2", "3", "4", "7", "8", "9", "10"]
    assert versions(client, "app-worker") == ["3", "4"]


def test_max_deletes_counts_deletions_of_earlier_hops(estate) -> None:
    client, clock = estate
    cursor = json.dumps({"deleted": 4, "function": "app-"})
    report = run(client, clock, {"max_deletes": 5}, event={"cursor": cursor})
    assert report.status == "capped" and report.deleted == 1


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        '["a"]',
        '{"function": 3}',
        '{"bucket": "x"}',
        '{"deleted": -1}',
        '{"deleted": true}',
    ],
)
def test_a_malformed_cursor_is_rejected_before_any_call(estate, cursor) -> None:
    client, clock = estate
    with pytest.raises(ValueError, match="malformed purge cursor"):
        run(client, clock, event={"cursor": cursor})
    assert client.calls == []
    assert versions(client, "app-worker") == ["1", "2", "3", "4"]


def test_the_version_an_alias_records_as_its_rollback_target_is_never_deleted(estate) -> None:
    """`ops rollback` moves a stage back to the deployer's recorded `previous`: it must stay."""
    from functions.deployer.layout import AliasRecord

    client, clock = estate
    record = AliasRecord(version="4", previous="1", sequencer="0A", code_sha256="x").describe()
    client.real.create_alias(
        FunctionName="app-worker", Name="prod", FunctionVersion="4", Description=record
    )
    report = run(client, clock)
    assert versions(client, "app-worker") == ["1", "3", "4"]  # 2 goes; 1 is the rollback target
    assert report.kept["rollback-target"] == 1
    assert lambda_versions.rollback_target("hand-written description previous=1") is None
