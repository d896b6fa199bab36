"""The bundled `ops.toml` end to end on a moto server: deployed whole (both deployer regions),
then each function run through `ops invoke` under its own rendered role with moto's IAM
enforcement on, and again with one action taken out of that role, which must fail.

moto reads the template as AWS does only with tests/moto_gaps.py (Lambda alias, KMS key tags).
moto's IAM evaluates actions, not resources or conditions: a role that names the right action on
the wrong ARN passes here; the rendered ARNs and conditions are checked on the template itself
(test_render, test_*_render). A family whose function makes no AWS call (the REPORT-line log
processor prints EMF) has nothing to enforce and is not listed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from click.testing import CliRunner

from ops.cli import cli
from tests.conftest import ROOT
from tests.policy_conditions import Call, denied, recording, role_policies

pytestmark = pytest.mark.e2e

REGION = "eu-west-1"
REPLICA = "ap-northeast-1"
STACK = "acme-ops"


def ops(endpoint: str, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--endpoint-url", endpoint])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def aws(endpoint: str, service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


@pytest.fixture(scope="module")
def endpoint(moto_endpoint: str) -> Iterator[str]:
    """moto's state lives in the process: start from none and leave none (acme-media is used
    by other modules too). The deployer's smoke test invokes the new version, which moto runs
    only in Docker: here its run answers what the seeded function returns, a success."""
    from moto.awslambda.models import LambdaFunction

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LambdaFunction, "_invoke_lambda", lambda self, event=None: ("1", False, ""))
        yield moto_endpoint
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the root ops.toml, so a test can change it."""
    path = tmp_path_factory.mktemp("bundled") / "ops.toml"
    shutil.copy(ROOT / "ops.toml", path)
    return path


@pytest.fixture(scope="module")
def deployed(endpoint: str, bundled: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        result = ops(endpoint, "apply", "--config", str(bundled), "--region", REGION, "--yes")
    assert result.exit_code == 0, result.stderr
    return bundled


# ---- the stack's life: create, no changes, update, destroy ----------------------------------


def test_the_bundled_stack_creates_in_both_regions_with_its_deployer_alias(
    endpoint: str, deployed: Path
) -> None:
    for region in (REPLICA, REGION):
        stack = aws(endpoint, "cloudformation", region).describe_stacks(StackName=STACK)
        assert stack["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        alias = aws(endpoint, "lambda", region).get_alias(
            FunctionName="acme-ops-deployer-deployer", Name="prod"
        )
        assert alias["FunctionVersion"] == "$LATEST"
        assert alias["AliasArn"].endswith(":function:acme-ops-deployer-deployer:prod")
    policy = aws(endpoint, "lambda").get_policy(FunctionName="acme-ops-deployer-deployer")
    principals = [s["Principal"] for s in json.loads(policy["Policy"])["Statement"]]
    assert {"Service": "s3.amazonaws.com"} in principals  # the permission on the alias exists
    kms = aws(endpoint, "kms")
    resources = aws(endpoint, "cloudformation").list_stack_resources(StackName=STACK)
    (key,) = [
        r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["LogicalResourceId"] == "ResponderTopicKey"
    ]
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key)["Tags"]}
    assert tags["team"] == "platform"
    for region, bucket in (
        (REGION, "acme-functions-eu-west-1"),
        (REPLICA, "acme-functions-ap-northeast-1"),
    ):
        # Versioning with tests/moto_gaps.py; moto's CloudFormation keeps no replication
        # (test_deployer_render checks it in the template).
        s3 = aws(endpoint, "s3", region)
        assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == region
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_a_second_apply_of_the_bundled_stack_changes_nothing(endpoint: str, deployed: Path) -> None:
    again = ops(endpoint, "apply", "--config", str(deployed), "--region", REGION, "--yes")
    assert again.exit_code == 0, again.stderr
    assert f"{STACK} in {REPLICA}: no changes" in again.stderr
    assert f"{STACK} in {REGION}: no changes" in again.stderr


# ---- every function under its own role, with IAM enforced ------------------------------------


@contextmanager
def enforced() -> Iterator[None]:
    """moto's IAM enforcement on, from the next request (the server shares this process)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def role_of(endpoint: str, function: str) -> str:
    """The role name the deployed function runs under (as CloudFormation named it)."""
    config = aws(endpoint, "lambda").get_function(FunctionName=function)["Configuration"]
    return str(config["Role"]).rsplit("/", 1)[-1]


@contextmanager
def without(endpoint: str, role: str, action: str) -> Iterator[None]:
    """The role's inline policies with `action` taken out of every statement, then put back."""
    iam = aws(endpoint, "iam")
    saved: dict[str, Any] = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        saved[name] = document
        statements = []
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            kept = [a for a in actions if a != action]
            if kept:
                statements.append({**statement, "Action": kept})
        trimmed = {**document, "Statement": statements}
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(trimmed))
    assert any(action in json.dumps(doc) for doc in saved.values()), (
        f"{role} never had {action}: the mutation would prove nothing"
    )
    try:
        yield
    finally:
        for name, document in saved.items():
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def invoke_as_role(endpoint: str, config: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`ops invoke ITEM` with the temporary credentials of its function's role, IAM enforced."""
    item, function = case.item, case.function
    role = role_of(endpoint, function)
    arn = f"arn:aws:iam::123456789012:role/{role}"
    creds = aws(endpoint, "sts").assume_role(RoleArn=arn, RoleSessionName="ops-e2e")
    credentials = creds["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    boto3.DEFAULT_SESSION = None  # a cached session would keep the credentials it resolved first
    event = CliRunner().invoke(cli, ["event", item, "--config", str(config)])
    assert event.exit_code == 0, event.stderr
    event_file = config.parent / f"{item}.event.json"
    # The sample names us-east-1; the stack runs in REGION, and a responder acts on its own only.
    event_file.write_text(case.event(endpoint, event.stdout.replace("us-east-1", REGION)))
    args = ["invoke", item, "--config", str(config), "--event", str(event_file)]
    # What CloudFormation computed (a table's name, say) comes from the deployed function.
    deployed = aws(endpoint, "lambda").get_function_configuration(FunctionName=function)
    for key, value in sorted(deployed.get("Environment", {}).get("Variables", {}).items()):
        if key != "OPS_JOB":
            args += ["--env", f"{key}={value}"]
    try:
        with enforced():
            return ops(endpoint, *args, "--region", REGION)
    finally:
        boto3.DEFAULT_SESSION = None


@dataclass(frozen=True)
class Case:
    """One function of the bundled stack: what to seed, what its run must leave, and one action
    its role needs (taken out, the same run must fail with AccessDenied)."""

    item: str
    function: str
    needed: str
    seed: Callable[[str], None]
    check: Callable[[str, dict[str, Any]], None]
    event: Callable[[str, str], str] = lambda endpoint, text: text
    # Actions whose statement has a condition moto does not evaluate (tests/policy_conditions.py):
    # the run must make such a call, and each must satisfy the deployed condition.
    conditioned: tuple[str, ...] = ()


def _backdate_objects(bucket: str, keys: list[str], by: timedelta) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    when = (datetime.now(UTC) - by).replace(tzinfo=None)
    for key in keys:
        s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_object(bucket, key).last_modified = when


def seed_media(endpoint: str) -> None:
    s3 = aws(endpoint, "s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    if "acme-media" not in buckets:
        s3.create_bucket(
            Bucket="acme-media", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    old = [f"tmp/{i:02d}.jpg" for i in range(5)]
    for key in [*old, "tmp/fresh.jpg", "keep/a.jpg"]:
        s3.put_object(Bucket="acme-media", Key=key, Body=b"x")
    _backdate_objects("acme-media", old, timedelta(hours=2))


def media_purged(endpoint: str, report: dict[str, Any]) -> None:
    assert (report["status"], report["deleted"]) == ("finished", 5), report
    left = [o["Key"] for o in aws(endpoint, "s3").list_objects_v2(Bucket="acme-media")["Contents"]]
    assert left == ["keep/a.jpg", "tmp/fresh.jpg"]


def seed_api_streams(endpoint: str) -> None:
    logs = aws(endpoint, "logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/api-")["logGroups"]
    if not groups:
        logs.create_log_group(logGroupName="/aws/lambda/api-orders")
    logs.create_log_stream(logGroupName="/aws/lambda/api-orders", logStreamName="quiet")
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.logs.models import logs_backends

    group = logs_backends[DEFAULT_ACCOUNT_ID][REGION].groups["/aws/lambda/api-orders"]
    stream = group.streams["quiet"]
    stream.creation_time = (datetime.now(UTC) - timedelta(days=60)).replace(tzinfo=None)


def api_streams_purged(endpoint: str, report: dict[str, Any]) -> None:
    assert report["status"] == "finished", report
    assert report["deleted"] == 1, report
    streams = aws(endpoint, "logs").describe_log_streams(logGroupName="/aws/lambda/api-orders")
    assert streams["logStreams"] == []


def clear_state(endpoint: str, stack: str) -> None:
    """Empty the stack's marker and rate-limit tables: each run starts unclaimed, uncooled."""
    ddb = aws(endpoint, "dynamodb")
    resources = aws(endpoint, "cloudformation").list_stack_resources(StackName=stack)
    for resource in resources["StackResourceSummaries"]:
        if resource["ResourceType"] == "AWS::DynamoDB::Table":
            table = resource["PhysicalResourceId"]
            for item in ddb.scan(TableName=table)["Items"]:
                ddb.delete_item(TableName=table, Key={"pk": item["pk"]})


def alarm_in(
    endpoint: str, name: str, namespace: str, metric: str, dimension: tuple[str, str]
) -> None:
    """The alarm a responder re-reads before it acts (moto's CloudFormation creates none)."""
    cloudwatch = aws(endpoint, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": dimension[0], "Value": dimension[1]}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="e2e")


def provisioned_table(endpoint: str, name: str, read: int, write: int) -> None:
    ddb = aws(endpoint, "dynamodb")
    if name in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=name)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": read, "WriteCapacityUnits": write},
    )


def seed_users_table(endpoint: str) -> None:
    provisioned_table(endpoint, "users", 100, 10)
    clear_state(endpoint, STACK)  # a run before this one claimed the state change
    name = "acme-ops-responder-users-read-capacity"
    alarm_in(endpoint, name, "AWS/DynamoDB", "ConsumedReadCapacityUnits", ("TableName", "users"))


def users_scaled(endpoint: str, report: dict[str, Any]) -> None:
    table = aws(endpoint, "dynamodb").describe_table(TableName="users")["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 150, report


def _zip(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def other_function(endpoint: str, name: str) -> None:
    """A function of another stack (one the stack acts on), created once."""
    lam = aws(endpoint, "lambda")
    if name not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]:
        role = aws(endpoint, "iam").create_role(
            RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Statement": []})
        )
        lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role["Role"]["Arn"],
            Handler="app.handler",
            Code={"ZipFile": _zip("def handler(e, c):\n    return 1\n")},
        )


def seed_api_function(endpoint: str) -> None:
    """The function the deployer ships to, with a first version, and a new zip uploaded."""
    other_function(endpoint, "api")
    s3 = aws(endpoint, "s3")
    body = _zip(f"def handler(e, c):\n    return {datetime.now(UTC).timestamp()!r}\n")
    s3.put_object(Bucket="acme-functions-eu-west-1", Key="deploy/prod/api.zip", Body=body)


def deploy_event(endpoint: str, text: str) -> str:
    """The S3 event of the upload seed_api_function made (its real version, size and ETag)."""
    event = json.loads(text)
    head = aws(endpoint, "s3").head_object(
        Bucket="acme-functions-eu-west-1", Key="deploy/prod/api.zip"
    )
    obj = event["Records"][0]["s3"]["object"]
    obj.update(
        key="deploy/prod/api.zip",
        size=head["ContentLength"],
        eTag=head["ETag"].strip('"'),
        versionId=head["VersionId"],
    )
    return json.dumps(event)


def api_deployed(endpoint: str, report: dict[str, Any]) -> None:
    alias = aws(endpoint, "lambda").get_alias(FunctionName="api", Name="prod")
    assert alias["FunctionVersion"] not in ("$LATEST", ""), report


def seed_snapshots(endpoint: str) -> None:
    """Nightly backups: one 40 days old, two fresh; an untagged one as old. The job deletes at
    most half of what it selects (max_delete_percent = 50)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    ec2 = aws(endpoint, "ec2")
    for snapshot in seeded_snapshots(endpoint):  # moto's own AMIs have snapshots too
        ec2.delete_snapshot(SnapshotId=snapshot["SnapshotId"])
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"]
    backend = ec2_backends[DEFAULT_ACCOUNT_ID][REGION]
    for name, tags, days in [
        ("old", {"backup": "nightly"}, 40),
        ("fresh-1", {"backup": "nightly"}, 1),
        ("fresh-2", {"backup": "nightly"}, 1),
        ("untagged", {}, 40),
    ]:
        marked = {**tags, "Name": name, "seeded": "e2e"}
        tagging = [{"Key": k, "Value": v} for k, v in marked.items()]
        snapshot = ec2.create_snapshot(
            VolumeId=volume,
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": tagging}],
        )
        when = (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None)
        backend.snapshots[snapshot["SnapshotId"]].start_time = when


def seeded_snapshots(endpoint: str) -> list[dict[str, Any]]:
    seeded = [{"Name": "tag:seeded", "Values": ["e2e"]}]
    answer = aws(endpoint, "ec2").describe_snapshots(OwnerIds=["self"], Filters=seeded)
    return list(answer["Snapshots"])


def snapshots_purged(endpoint: str, report: dict[str, Any]) -> None:
    assert (report["status"], report["deleted"], report["failed"]) == ("finished", 1, {}), report
    left = seeded_snapshots(endpoint)
    names = sorted(t["Value"] for s in left for t in s.get("Tags", []) if t["Key"] == "Name")
    assert names == ["fresh-1", "fresh-2", "untagged"]


def nothing_to_seed(endpoint: str) -> None:
    return None


def finished(endpoint: str, report: dict[str, Any]) -> None:
    assert report["status"] == "finished", report
    assert report["failed"] == {}, report


CASES = [
    Case(
        "deployer",
        "acme-ops-deployer-deployer",
        "lambda:UpdateFunctionCode",
        seed_api_function,
        api_deployed,
        deploy_event,
    ),
    Case(
        "users-read-capacity",
        "acme-ops-responder-users-read-capacity",
        "dynamodb:UpdateTable",
        seed_users_table,
        users_scaled,
    ),
    Case(
        "tmp-images",
        "acme-ops-purge-tmp-images",
        "s3:DeleteObject",
        seed_media,
        media_purged,
        conditioned=("s3:ListBucket",),
    ),
    Case(
        "quiet-api-streams",
        "acme-ops-purge-quiet-api-streams",
        "logs:DeleteLogStream",
        seed_api_streams,
        api_streams_purged,
    ),
    Case(
        "api-versions",
        "acme-ops-purge-api-versions",
        "lambda:ListFunctions",
        nothing_to_seed,
        finished,
    ),
    Case(
        "backup-snapshots",
        "acme-ops-purge-backup-snapshots",
        "ec2:DeleteSnapshot",
        seed_snapshots,
        snapshots_purged,
        conditioned=("ec2:DeleteSnapshot",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.item for c in CASES])
def test_each_function_runs_under_its_own_role_with_iam_enforced(
    endpoint: str, deployed: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    case.seed(endpoint)
    with recording() as calls:
        result = invoke_as_role(endpoint, deployed, case, monkeypatch)
    assert result.exit_code == 0, result.stderr
    case.check(endpoint, json.loads(result.stdout))
    conditions_held(endpoint, case, calls)


def conditions_held(endpoint: str, case: Any, calls: list[Call]) -> None:
    """What moto's IAM skipped: each conditioned call against the deployed role's conditions."""
    assert {c.action for c in calls} >= set(case.conditioned), calls
    policies = role_policies(aws(endpoint, "iam"), role_of(endpoint, case.function))
    assert denied(policies, calls) == []


@pytest.mark.parametrize("case", CASES, ids=[c.item for c in CASES])
def test_each_function_fails_when_its_role_lacks_one_action_it_needs(
    endpoint: str, deployed: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    case.seed(endpoint)
    with without(endpoint, role_of(endpoint, case.function), case.needed):
        result = invoke_as_role(endpoint, deployed, case, monkeypatch)
    assert result.exit_code == 1, result.stdout
    assert "AccessDenied" in result.stderr, result.stderr[-2000:]


# ---- last: an update, then destroy ---------------------------------------------------------


def test_zz_the_bundled_stack_updates_after_a_config_change_then_destroys(
    endpoint: str, deployed: Path
) -> None:
    text = deployed.read_text().replace('older_than = "1h"', 'older_than = "2h"', 1)
    deployed.write_text(text)
    changed = ops(endpoint, "apply", "--config", str(deployed), "--region", REGION, "--yes")
    assert changed.exit_code == 0, changed.stderr
    assert "~ Modify  PurgeTmpImagesFunction" in changed.stderr
    assert f"{STACK} in {REPLICA}: no changes" in changed.stderr
    job = aws(endpoint, "lambda").get_function(FunctionName="acme-ops-purge-tmp-images")
    variables = job["Configuration"]["Environment"]["Variables"]
    assert json.loads(variables["OPS_JOB"])["older_than"] == 7200

    gone = ops(endpoint, "destroy", "--config", str(deployed), "--region", REGION, "--yes")
    assert gone.exit_code == 0, gone.stderr
    assert f"{STACK} in {REGION}: deleted" in gone.stderr
    cfn = aws(endpoint, "cloudformation")
    live = [
        s["StackName"]
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert STACK not in live
