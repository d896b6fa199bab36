"""S3 purges in mode = "lifecycle": the config rules, ops validate's suggestion, the rendered
counting of S3's deletions, and the read-merge-write of the bucket's lifecycle configuration
(on moto, a foreign rule kept intact; idempotent; removed again by ops destroy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from ops.cli import cli
from ops.config import load_config
from ops.deploy.lifecycle import Buckets, merge, plan_buckets
from ops.models.lifecycle import rule_id
from ops.render import render

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
FOREIGN = {
    "ID": "keep-logs-forever-archive",
    "Status": "Enabled",
    "Filter": {"Prefix": "archive/"},
    "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
}
LIFECYCLE_JOB = """
[[purge]]
name = "old-exports"
target = "s3"
mode = "lifecycle"
bucket = "acme-exports"
prefix = "exports/"
older_than = "{age}"
"""


def config_text(age: str = "30d", extra: str = "") -> str:
    return '[stack]\nname = "acme-ops"\n' + LIFECYCLE_JOB.format(age=age) + extra


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('exclude = ["exports/keep/*"]', "exclude"),
        ("max_deletes = 10", "max_deletes"),
        ("max_delete_percent = 50", "max_delete_percent"),
        ("dry_run = true", "dry_run"),
        ('schedule = "rate(1 day)"', "schedule"),
    ],
)
def test_what_a_lifecycle_rule_cannot_do_is_a_config_error_naming_the_key(
    write_config, extra: str, key: str
) -> None:
    path = write_config(config_text(extra=extra + "\n"))
    result = run("render", "--config", str(path))
    assert result.exit_code == 2
    assert f"purge[0].{key}: " in result.output
    assert "Resources" not in result.output  # nothing rendered


def test_lifecycle_age_is_whole_days(write_config) -> None:
    result = run("render", "--config", str(write_config(config_text(age="36h"))))
    assert result.exit_code == 2
    assert "purge[0].older_than: expected whole days" in result.output


def test_a_lambda_s3_job_still_needs_its_schedule(write_config) -> None:
    text = config_text().replace('mode = "lifecycle"\n', "")
    result = run("render", "--config", str(write_config(text)))
    assert result.exit_code == 2
    assert "purge[0].schedule: missing required key" in result.output


def test_validate_suggests_lifecycle_for_a_job_that_fits_and_not_for_others(write_config) -> None:
    fits = config_text().replace('mode = "lifecycle"', 'schedule = "rate(1 day)"')
    excluded = fits.replace('older_than = "30d"', 'older_than = "30d"\nexclude = ["x*"]')
    hourly = fits.replace('older_than = "30d"', 'older_than = "1h"')
    result = run("validate", "--config", str(write_config(fits)))
    assert result.exit_code == 0, result.output
    assert "note: purge[0] old-exports: fits an S3 lifecycle rule" in result.output
    for text in (excluded, hourly):
        result = run("validate", "--config", str(write_config(text)))
        assert "fits an S3 lifecycle rule" not in result.output


def test_render_counts_lifecycle_expirations_without_a_function(write_config) -> None:
    template = json.loads(render(load_config(write_config(config_text()))))
    kinds = sorted(r["Type"] for r in template["Resources"].values())
    assert "AWS::Lambda::Function" not in kinds
    rule = template["Resources"]["PurgeOldExportsExpirationsRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Deleted"],
        "detail": {
            "bucket": {"name": ["acme-exports"]},
            "object": {"key": [{"prefix": "exports/"}]},
            "reason": ["Lifecycle Expiration"],
        },
    }
    metric = template["Resources"]["PurgeOldExportsExpirationsMetric"]["Properties"]
    [transformation] = metric["MetricTransformations"]
    assert (transformation["MetricNamespace"], transformation["MetricName"]) == ("ops", "Deleted")
    # The line the rule writes, with the transformer's variables filled in, is what the filter's
    # dimensions read: the job's name and target, as the Lambda job emits them.
    template_text = rule["Targets"][0]["InputTransformer"]["InputTemplate"]
    filled = template_text.replace("<time>", '"2030-01-01T00:00:00Z"').replace(
        "<type>", "Permanently Deleted"
    )
    line = json.loads(json.loads(filled)["message"])
    assert line == {"Job": "old-exports", "Target": "s3", "DeletionType": "Permanently Deleted"}


def s3_event(reason: str, key: str, bucket: str = "acme-exports") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
        "detail-type": "Object Deleted",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2030-01-01T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "sequencer": "617f08299329d189"},
            "request-id": "0BH729840619AG5K",
            "requester": "s3.amazonaws.com",
            "reason": reason,
            "deletion-type": "Permanently Deleted",
        },
    }


def test_the_rule_matches_lifecycle_expirations_of_the_prefix_only(write_config) -> None:
    """moto's EventBridge pattern matcher on events shaped as AWS documents them (S3 user guide,
    EventBridge event message structure). moto's TestEventPattern API answers without a
    Result, so its matcher (the one its rules route with) is called directly."""
    from moto.events.models import EventPattern

    template = json.loads(render(load_config(write_config(config_text()))))
    props = template["Resources"]["PurgeOldExportsExpirationsRule"]["Properties"]
    pattern = EventPattern.load(json.dumps(props["EventPattern"]))

    def matches(event: dict[str, Any]) -> bool:
        return bool(pattern.matches_event(event))

    assert matches(s3_event("Lifecycle Expiration", "exports/2029/a.csv"))
    assert not matches(s3_event("DeleteObject", "exports/2029/a.csv"))
    assert not matches(s3_event("Lifecycle Expiration", "other/a.csv"))
    assert not matches(s3_event("Lifecycle Expiration", "exports/a.csv", bucket="acme-other"))


def bucket_with(rules: list[dict[str, Any]] | None = None) -> Any:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(
        Bucket="acme-exports", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    if rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket="acme-exports", LifecycleConfiguration={"Rules": rules}
        )
    return s3


def eventbridge_on(bucket: str) -> bool:
    """moto gap (5.2): moto stores a put EventBridgeConfiguration (an empty element) but leaves it
    out of GetBucketNotificationConfiguration's answer, so the stored state is read instead."""
    from moto.s3.models import s3_backends

    stored = s3_backends[ACCOUNT]["aws"].buckets[bucket].notification_configuration
    return stored is not None and stored.event_bridge is not None


def rules_of(s3: Any) -> dict[str, Any]:
    answer = s3.get_bucket_lifecycle_configuration(Bucket="acme-exports")
    return {r["ID"]: r for r in answer["Rules"]}


@mock_aws
def test_apply_merges_its_rule_keeps_the_foreign_one_and_is_idempotent(write_config) -> None:
    s3 = bucket_with([FOREIGN])
    config = load_config(write_config(config_text()))
    buckets = Buckets(s3, ACCOUNT, "acme-ops")
    [plan] = plan_buckets(buckets, config)
    assert [(c.action, c.rule_id) for c in plan.changes] == [("add", "ops:acme-ops:old-exports")]
    assert plan.kept == 1 and plan.enable_eventbridge
    buckets.write(plan)
    found = rules_of(s3)
    assert found[FOREIGN["ID"]]["Transitions"] == FOREIGN["Transitions"]
    assert found[FOREIGN["ID"]]["Filter"] == FOREIGN["Filter"]
    mine = found[rule_id("acme-ops", "old-exports")]
    assert mine["Expiration"] == {"Days": 30} and mine["Filter"] == {"Prefix": "exports/"}
    assert eventbridge_on("acme-exports")
    [again] = plan_buckets(buckets, config)
    assert not again.changes  # a rerun has no rule to write


@mock_aws
def test_a_bucket_without_lifecycle_configuration_gets_one(write_config) -> None:
    s3 = bucket_with()
    config = load_config(write_config(config_text()))
    buckets = Buckets(s3, ACCOUNT, "acme-ops")
    [plan] = plan_buckets(buckets, config)
    assert plan.kept == 0
    buckets.write(plan)
    assert list(rules_of(s3)) == ["ops:acme-ops:old-exports"]


@mock_aws
def test_a_changed_age_modifies_in_place_and_destroy_takes_only_its_rule(write_config) -> None:
    s3 = bucket_with([FOREIGN])
    buckets = Buckets(s3, ACCOUNT, "acme-ops")
    for plan in plan_buckets(buckets, load_config(write_config(config_text()))):
        buckets.write(plan)
    changed = load_config(write_config(config_text(age="7d")))
    [plan] = plan_buckets(buckets, changed)
    assert [c.action for c in plan.changes] == ["modify"]
    buckets.write(plan)
    assert rules_of(s3)["ops:acme-ops:old-exports"]["Expiration"] == {"Days": 7}
    [removal] = plan_buckets(buckets, changed, removing=True)
    buckets.write(removal)
    assert list(rules_of(s3)) == [FOREIGN["ID"]]


@mock_aws
def test_destroy_of_the_only_rule_deletes_the_configuration(write_config) -> None:
    s3 = bucket_with()
    config = load_config(write_config(config_text()))
    buckets = Buckets(s3, ACCOUNT, "acme-ops")
    for plan in plan_buckets(buckets, config):
        buckets.write(plan)
    for plan in plan_buckets(buckets, config, removing=True):
        buckets.write(plan)
    with pytest.raises(s3.exceptions.ClientError) as info:
        s3.get_bucket_lifecycle_configuration(Bucket="acme-exports")
    assert info.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


@mock_aws
def test_enabling_eventbridge_keeps_the_bucket_notifications(write_config) -> None:
    s3 = bucket_with()
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    existing = {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"], "Id": "uploads"}
    s3.put_bucket_notification_configuration(
        Bucket="acme-exports", NotificationConfiguration={"QueueConfigurations": [existing]}
    )
    buckets = Buckets(s3, ACCOUNT, "acme-ops")
    for plan in plan_buckets(buckets, load_config(write_config(config_text()))):
        buckets.write(plan)
    answer = s3.get_bucket_notification_configuration(Bucket="acme-exports")
    assert eventbridge_on("acme-exports")
    assert [q["Id"] for q in answer["QueueConfigurations"]] == ["uploads"]


def test_merge_leaves_foreign_rules_in_place_and_removes_stale_ones_of_the_stack() -> None:
    stale = {"ID": "ops:acme-ops:gone", "Status": "Enabled", "Filter": {"Prefix": "g/"}}
    other_stack = {"ID": "ops:acme-ops-2:gone", "Status": "Enabled", "Filter": {"Prefix": "g/"}}
    wanted = {"ID": "ops:acme-ops:new", "Status": "Enabled", "Filter": {"Prefix": "n/"}}
    merged, changes = merge([FOREIGN, stale, other_stack], [wanted], "acme-ops")
    assert merged == [FOREIGN, other_stack, wanted]
    assert [(c.action, c.rule_id) for c in changes] == [
        ("remove", "ops:acme-ops:gone"),
        ("add", "ops:acme-ops:new"),
    ]


def test_plan_and_apply_show_the_rule_diff_and_apply_writes_it(
    moto_endpoint: str, write_config, tmp_path: Path
) -> None:
    """End to end on the moto server: ops plan shows the diff and writes nothing; ops apply
    writes it next to the foreign rule; a second ops apply has no lifecycle changes."""
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)
    s3.create_bucket(
        Bucket="acme-exports", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="acme-exports", LifecycleConfiguration={"Rules": [FOREIGN]}
    )
    path = str(write_config(config_text()))
    common = ["--config", path, "--region", REGION, "--endpoint-url", moto_endpoint]
    planned = run("plan", *common)
    assert planned.exit_code == 0, planned.output
    assert "+ add     ops:acme-ops:old-exports  prefix 'exports/', 30 days" in planned.output
    assert "1 other rule(s) of the bucket kept as they are" in planned.output
    assert list(rules_of(s3)) == [FOREIGN["ID"]]
    applied = run("apply", "--yes", *common)
    assert applied.exit_code == 0, applied.output
    assert set(rules_of(s3)) == {FOREIGN["ID"], "ops:acme-ops:old-exports"}
    again = run("apply", "--yes", *common)
    assert again.exit_code == 0, again.output
    # No rule written again (moto answers without EventBridgeConfiguration, so apply switches
    # it on once more: see eventbridge_on).
    assert "add     ops:" not in again.output and "modify" not in again.output
    destroyed = run("destroy", "--yes", *common)
    assert destroyed.exit_code == 0, destroyed.output
    assert list(rules_of(s3)) == [FOREIGN["ID"]]
