"""`Deployer` against stubbed CloudFormation answers (botocore Stubber: exact calls and
parameters) and moto for S3/STS: which calls each stack state leads to, what is printed, which
exit code comes back. Any CloudFormation call the test did not expect fails it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from ops.deploy.events import Watcher
from ops.deploy.execute import Clients, Deployer
from ops.deploy.plan import OWNER_TAG
from ops.deploy.request import StackRequest
from ops.deploy.summary import Console
from ops.errors import EXIT_FAILED, EXIT_TIMEOUT
from ops.package import build_bundle

REGION = "eu-west-1"
STACK = "acme-ops"
ACCOUNT = "123456789012"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/abc"
CS_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/ops-changes-1/def"
BUCKET = f"ops-artifacts-{ACCOUNT}-{REGION}"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
OWNED = [{"Key": OWNER_TAG, "Value": STACK}]


def template(padding: int = 0) -> dict[str, Any]:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
    code = {"S3Bucket": {"Fn::Sub": "ops-artifacts-${AWS::AccountId}-${AWS::Region}"}}
    code["S3Key"] = build_bundle("purge").key
    fn = {"Type": "AWS::Lambda::Function", "Properties": {"Code": code}}
    return {"Description": "x" * padding, "Resources": {"Role": role, "Function": fn}}


class Clock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Harness:
    def __init__(
        self, protect: bool = False, timeout: float = 60, tty: bool = False, **request: Any
    ) -> None:
        cfn = boto3.client("cloudformation", region_name=REGION)
        self.stub = Stubber(cfn)
        self.stub.activate()
        self.s3 = boto3.client("s3", region_name=REGION)
        self.out = Terminal() if tty else io.StringIO()
        console = Console(self.out, tty=tty)
        clock = Clock()
        self.answer = True
        self.deployer = Deployer(
            Clients(cfn, self.s3, boto3.client("sts", region_name=REGION)),
            REGION,
            console,
            Watcher(console, timeout, delay=5, clock=clock, sleep=clock.sleep),
            confirm=lambda _q: self.answer,
            token=lambda verb: f"ops-{verb}-1",
        )
        request.setdefault("template", template())
        self.request = StackRequest(
            stack=STACK, tags={"team": "sre"}, termination_protection=protect, **request
        )

    @property
    def printed(self) -> str:
        return self.out.getvalue()

    # -- CloudFormation answers, in the order the deployer asks --
    def stack(self, status: str, by: str = STACK, tags: Any = OWNED, **extra: Any) -> None:
        desc = {"StackName": STACK, "StackId": STACK_ID, "StackStatus": status}
        desc.update(CreationTime=T0, Tags=tags, **extra)
        self.stub.add_response("describe_stacks", {"Stacks": [desc]}, {"StackName": by})

    def missing(self) -> None:
        msg = f"Stack with id {STACK} does not exist"
        self.stub.add_client_error("describe_stacks", "ValidationError", msg, 400)

    def create_change_set(self, kind: str, **location: Any) -> None:
        params = {
            "StackName": STACK,
            "ChangeSetName": "ops-changes-1",
            "ChangeSetType": kind,
            "Capabilities": ["CAPABILITY_IAM"],
            "Tags": [{"Key": OWNER_TAG, "Value": STACK}, {"Key": "team", "Value": "sre"}],
            "Parameters": [],
            "Description": "ops apply",
            "ClientToken": "ops-changes-1",
            **(location or {"TemplateBody": ANY}),
        }
        self.stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID}, params)

    def change_set(self, status: str, reason: str = "", changes: Any = ()) -> None:
        body = {
            "ChangeSetId": CS_ID,
            "StackId": STACK_ID,
            "StackName": STACK,
            "Status": status,
            "StatusReason": reason,
            "CreationTime": T0,
            "Changes": [
                {"Type": "Resource", "ResourceChange": {"Action": a, "LogicalResourceId": lid}}
                for a, lid in changes
            ],
        }
        self.stub.add_response("describe_change_set", body, {"ChangeSetName": CS_ID})

    def no_changes(self) -> None:
        self.change_set("FAILED", "The submitted information didn't contain changes.")
        self.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})

    def events(self, *events: dict[str, Any]) -> None:
        self.stub.add_response(
            "describe_stack_events", {"StackEvents": list(events)}, {"StackName": STACK_ID}
        )

    def call(self, method: str, **params: Any) -> None:
        self.stub.add_response(method, {}, params)


def event(
    eid: str, lid: str, status: str, seconds: int, reason: str = "", token: str | None = None
) -> dict[str, Any]:
    kind = "AWS::CloudFormation::Stack" if lid == STACK else f"AWS::Test::{lid}"
    ev = {
        "StackId": STACK_ID,
        "StackName": STACK,
        "EventId": eid,
        "LogicalResourceId": lid,
        "ResourceType": kind,
        "ResourceStatus": status,
        "Timestamp": T0 + timedelta(seconds=seconds),
    }
    if reason:
        ev["ResourceStatusReason"] = reason
    if token:
        ev["ClientRequestToken"] = token
    return ev


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_first_apply_creates_uploads_code_and_turns_on_protection() -> None:
    h = Harness(protect=True)
    h.missing()
    h.create_change_set("CREATE")
    h.change_set("CREATE_COMPLETE", changes=[("Add", "Role"), ("Add", "Function")])
    h.events(event("e0", STACK, "REVIEW_IN_PROGRESS", 0))
    h.call("execute_change_set", ChangeSetName=CS_ID, ClientRequestToken="ops-apply-1")
    h.events(
        event("e2", "Function", "CREATE_COMPLETE", 9, token="ops-apply-1"),
        event("x1", "Other", "UPDATE_IN_PROGRESS", 8, token="someone-elses-token"),
        event("e1", STACK, "CREATE_IN_PROGRESS", 5, "User Initiated", token="ops-apply-1"),
        event("e0", STACK, "REVIEW_IN_PROGRESS", 0),
    )
    h.stack("CREATE_COMPLETE", by=STACK_ID)
    h.events(event("e2", "Function", "CREATE_COMPLETE", 9, token="ops-apply-1"))
    h.call("update_termination_protection", StackName=STACK_ID, EnableTerminationProtection=True)

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("created", 0)
    lines = h.printed.splitlines()
    assert "  + Add     Role      " in h.printed
    creating = [line for line in lines if "CREATE_" in line]
    assert creating[0].split()[1:4] == [STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS"]
    assert creating[1].split()[1:4] == ["Function", "AWS::Test::Function", "CREATE_COMPLETE"]
    assert "Other" not in h.printed  # another operation's event
    assert h.printed.count("Function  AWS::Test::Function") == 1  # shown once
    assert "Termination protection turned on" in h.printed
    key = build_bundle("purge").key
    assert h.s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0
    assert h.s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    block = h.s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = h.s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_no_changes_is_success_and_writes_nothing_else() -> None:
    h = Harness(protect=True)
    h.stack("UPDATE_COMPLETE")
    h.create_change_set("UPDATE")
    h.no_changes()

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()  # and the Stubber refused any other CloudFormation call
    assert (result.result, result.exit_code) == ("no changes", 0)
    assert f"{STACK} in {REGION}: no changes" in h.printed
    assert h.s3.list_buckets()["Buckets"] == []  # no bucket made, nothing uploaded


def test_failed_update_prints_the_root_cause_status_and_next_step() -> None:
    h = Harness()
    h.stack("UPDATE_COMPLETE")
    h.create_change_set("UPDATE")
    h.change_set("CREATE_COMPLETE", changes=[("Modify", "Role"), ("Modify", "Function")])
    h.events()
    h.call("execute_change_set", ChangeSetName=CS_ID, ClientRequestToken="ops-apply-1")
    h.events(
        event("e3", STACK, "UPDATE_ROLLBACK_IN_PROGRESS", 4, "The following resource(s) failed"),
        event("e2", "Function", "UPDATE_FAILED", 3, "Resource update cancelled"),
        event("e1", "Role", "UPDATE_FAILED", 2, "Access denied for iam:PutRolePolicy"),
    )
    h.stack("UPDATE_ROLLBACK_IN_PROGRESS", by=STACK_ID)
    h.events()
    h.stack("UPDATE_ROLLBACK_COMPLETE", by=STACK_ID)
    h.events()

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("failed", EXIT_FAILED)
    assert result.detail == "Access denied for iam:PutRolePolicy"
    failed_part = h.printed.split("What failed:")[1]
    assert "Role (AWS::Test::Role): Access denied for iam:PutRolePolicy" in failed_part
    assert "cancelled" not in failed_part
    assert f"Stack {STACK} in {REGION} failed: UPDATE_ROLLBACK_COMPLETE" in h.printed
    assert "Next: the stack is back as it was" in h.printed


def test_timeout_while_cloudformation_works_exits_3_without_claiming_failure() -> None:
    h = Harness(timeout=10)
    h.stack("UPDATE_COMPLETE")
    h.create_change_set("UPDATE")
    h.change_set("CREATE_COMPLETE", changes=[("Modify", "Function")])
    h.events()
    h.call("execute_change_set", ChangeSetName=CS_ID, ClientRequestToken="ops-apply-1")
    for _ in range(3):  # at 0 s, 5 s and 10 s of the fake clock
        h.events()
        h.stack("UPDATE_IN_PROGRESS", by=STACK_ID)

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("timed out", EXIT_TIMEOUT)
    assert "still UPDATE_IN_PROGRESS" in h.printed and "not a failure" in h.printed
    assert "failed" not in h.printed


def test_failed_first_creation_made_by_ops_is_deleted_then_created_again() -> None:
    h = Harness()
    h.stack("ROLLBACK_COMPLETE", StackStatusReason="The following resource(s) failed")
    h.events(event("old", STACK, "ROLLBACK_COMPLETE", 0))
    h.call("delete_stack", StackName=STACK_ID, ClientRequestToken="ops-recover-1")
    h.events(event("d1", STACK, "DELETE_COMPLETE", 3, token="ops-recover-1"))
    h.stack("DELETE_COMPLETE", by=STACK_ID)
    h.events()
    h.missing()
    h.create_change_set("CREATE")
    h.change_set("CREATE_COMPLETE", changes=[("Add", "Function")])
    # the user says no: the change set and the empty stack it made are removed again
    h.call("delete_change_set", ChangeSetName=CS_ID)
    h.call("delete_stack", StackName=STACK)
    h.answer = False

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("cancelled", EXIT_FAILED)
    assert "deleting it before creating it again" in h.printed


def test_failed_first_creation_of_someone_elses_stack_prints_the_command() -> None:
    h = Harness()
    h.stack("ROLLBACK_COMPLETE", tags=[{"Key": "team", "Value": "x"}])

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("refused", EXIT_FAILED)
    assert f"aws cloudformation delete-stack --stack-name {STACK} --region {REGION}" in h.printed


def test_continue_rollback_then_update() -> None:
    h = Harness(continue_rollback=True, skip_resources=("Role",))
    h.stack("UPDATE_ROLLBACK_FAILED")
    h.events()
    h.call(
        "continue_update_rollback",
        StackName=STACK_ID,
        ResourcesToSkip=["Role"],
        ClientRequestToken="ops-recover-1",
    )
    h.events(event("r1", STACK, "UPDATE_ROLLBACK_COMPLETE", 2, token="ops-recover-1"))
    h.stack("UPDATE_ROLLBACK_COMPLETE", by=STACK_ID)
    h.events()
    h.stack("UPDATE_ROLLBACK_COMPLETE")
    h.create_change_set("UPDATE")
    h.no_changes()

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("no changes", 0)
    assert "UPDATE_ROLLBACK_COMPLETE" in h.printed


def test_operation_in_progress_is_waited_for() -> None:
    h = Harness()
    h.stack("UPDATE_IN_PROGRESS")
    h.events(event("u0", STACK, "UPDATE_IN_PROGRESS", 0, token="theirs"))
    h.events(event("u1", STACK, "UPDATE_COMPLETE", 4, token="theirs"))
    h.stack("UPDATE_COMPLETE", by=STACK_ID)
    h.events()
    h.stack("UPDATE_COMPLETE")
    h.create_change_set("UPDATE")
    h.no_changes()

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert result.result == "no changes"
    assert "is UPDATE_IN_PROGRESS: waiting for it" in h.printed
    assert "UPDATE_COMPLETE" in h.printed  # their events are shown while we wait


def test_template_over_the_inline_limit_goes_through_the_artifact_bucket() -> None:
    big = template(padding=60_000)
    h = Harness(template=big)
    body = StackRequest(stack=STACK, template=big).body
    import hashlib

    key = f"templates/{hashlib.sha256(body.encode()).hexdigest()}.json"
    h.stack("UPDATE_COMPLETE")
    url = f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{key}"
    h.create_change_set("UPDATE", TemplateURL=url)
    h.no_changes()

    result = h.deployer.apply(h.request)

    h.stub.assert_no_pending_responses()
    assert result.result == "no changes"
    assert h.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode() == body


def test_change_set_cloudformation_rejects_fails_with_its_reason() -> None:
    h = Harness()
    h.stack("UPDATE_COMPLETE")
    h.create_change_set("UPDATE")
    h.change_set("FAILED", "Template error: instance of Fn::GetAtt references undefined resource")
    h.call("delete_change_set", ChangeSetName=CS_ID)

    result = h.deployer.apply(h.request)

    assert (result.result, result.exit_code) == ("failed", EXIT_FAILED)
    assert "references undefined resource" in h.printed


def test_plan_shows_a_progress_line_on_a_terminal_while_the_change_set_is_computed() -> None:
    h = Harness(tty=True)
    h.missing()
    h.create_change_set("CREATE")
    h.change_set("CREATE_PENDING")
    h.change_set("CREATE_IN_PROGRESS")
    h.change_set("CREATE_COMPLETE", changes=[("Add", "Role")])
    h.call("delete_change_set", ChangeSetName=CS_ID)
    h.call("delete_stack", StackName=STACK)

    h.deployer.plan(h.request)

    h.stub.assert_no_pending_responses()
    assert f"\r\x1b[2K{STACK} in {REGION}: change set CREATE_PENDING  0s" in h.printed
    assert f"\r\x1b[2K{STACK} in {REGION}: change set CREATE_IN_PROGRESS  0s" in h.printed
    assert "+ Add     Role" in h.printed.rsplit("\r\x1b[2K", 1)[-1]  # the line was cleared


def test_plan_of_a_new_stack_leaves_nothing_behind() -> None:
    h = Harness()
    h.missing()
    h.create_change_set("CREATE")
    h.change_set("CREATE_COMPLETE", changes=[("Add", "Role"), ("Add", "Function")])
    h.call("delete_change_set", ChangeSetName=CS_ID)
    h.call("delete_stack", StackName=STACK)

    result = h.deployer.plan(h.request)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.detail) == ("planned", "2 to add, 0 to modify, 0 to remove")
    assert "+ Add     Function" in h.printed


def test_destroy_reports_what_could_not_be_deleted_and_how_to_finish() -> None:
    h = Harness()
    h.stack("UPDATE_COMPLETE")
    h.events()
    h.call("delete_stack", StackName=STACK_ID, ClientRequestToken="ops-destroy-1")
    h.events(
        event("d2", STACK, "DELETE_FAILED", 6, "The following resource(s) failed to delete"),
        event("d1", "Bucket", "DELETE_FAILED", 5, "The bucket you tried to delete is not empty"),
    )
    h.stack("DELETE_FAILED", by=STACK_ID)
    h.events()

    result = h.deployer.destroy(STACK)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("failed", EXIT_FAILED)
    assert "Bucket (AWS::Test::Bucket): The bucket you tried to delete is not empty" in h.printed
    assert "--retain-resources" in h.printed and f"ops destroy --region {REGION}" in h.printed


def test_destroy_refuses_a_protected_stack_and_skips_a_missing_one() -> None:
    h = Harness()
    h.stack("UPDATE_COMPLETE", EnableTerminationProtection=True)
    assert h.deployer.destroy(STACK).exit_code == EXIT_FAILED
    assert "--no-enable-termination-protection" in h.printed
    h.missing()
    assert h.deployer.destroy(STACK).result == "nothing to delete"
    h.stub.assert_no_pending_responses()


def test_plan_of_a_stack_apply_must_recover_first_says_so_and_calls_nothing_else() -> None:
    h = Harness()
    h.stack("ROLLBACK_COMPLETE")

    result = h.deployer.plan(h.request)

    h.stub.assert_no_pending_responses()  # no delete, no change set
    assert (result.result, result.exit_code) == ("apply would recreate", 0)
    assert [s["step"] for s in result.steps] == ["recover"]
    assert "deleting it before creating it again" in h.printed


def test_plan_destroy_shows_the_steps_and_deletes_nothing() -> None:
    h = Harness()
    h.stack("UPDATE_COMPLETE")

    result = h.deployer.plan_destroy(STACK)

    h.stub.assert_no_pending_responses()
    assert (result.result, result.exit_code) == ("planned", 0)
    assert [s["step"] for s in result.steps] == ["confirm", "delete"]
    assert "would delete the stack and everything in it" in h.printed
