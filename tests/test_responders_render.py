"""The rendered responders: alarm -> encrypted topic -> function, rule -> function, native action;
least-privilege roles; config mistakes named by key path; `ops invoke`/`ops event` on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ops.cli import cli
from ops.config import load_config, parse_config
from ops.errors import ConfigError
from ops.render import render
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "responders.toml"


def resources() -> dict[str, Any]:
    return json.loads(render(load_config(EXAMPLE)))["Resources"]


def sids(res: dict[str, Any], role: str) -> dict[str, Any]:
    [policy] = res[role]["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_defined_alarm_goes_through_an_encrypted_topic_to_the_function() -> None:
    res = resources()
    alarm = res["ResponderUsersReadCapacityAlarm"]["Properties"]
    topic = {"Ref": "ResponderUsersReadCapacityTopic"}
    assert alarm["AlarmName"] == "acme-responders-responder-users-read-capacity"
    assert alarm["AlarmActions"][0] == topic and alarm["OKActions"] == [topic]
    assert (
        alarm["Threshold"] == 4800
        and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    )
    assert res["ResponderUsersReadCapacityTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Ref": "ResponderTopicKey"
    }
    sub = res["ResponderUsersReadCapacitySubscription"]["Properties"]
    assert sub["Protocol"] == "lambda" and sub["TopicArn"] == topic
    permission = res["ResponderUsersReadCapacityTopicPermission"]["Properties"]
    assert (permission["Principal"], permission["SourceArn"]) == ("sns.amazonaws.com", topic)


ALARMS_HERE = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"


def test_topic_key_lets_cloudwatch_publish_and_names_no_wildcard_action() -> None:
    key = resources()["ResponderTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    publish = next(s for s in key if s["Sid"] == "AlarmsPublishToEncryptedTopics")
    assert publish["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert sorted(publish["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert publish["Condition"] == {  # this account's alarms only, as on the topic itself
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Sub": ALARMS_HERE}},
    }
    assert all("*" not in a for s in key for a in s["Action"])


def test_existing_alarms_arrive_through_an_eventbridge_rule_by_prefix() -> None:
    res = resources()
    pattern = res["ResponderOrdersDiskRule"]["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"]["alarmName"] == [{"prefix": "prod-db-"}, "orders-free-storage"]
    permission = res["ResponderOrdersDiskRulePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ResponderOrdersDiskRule", "Arn"]}
    assert "ResponderOrdersDiskAlarm" not in res and "ResponderOrdersDiskTopic" not in res


def test_native_action_renders_the_alarm_and_no_function() -> None:
    res = resources()
    actions = res["ResponderBastionRecoverAlarm"]["Properties"]["AlarmActions"]
    assert actions[0] == {"Fn::Sub": "arn:${AWS::Partition}:automate:${AWS::Region}:ec2:recover"}
    assert not [
        k for k in res if k.startswith("ResponderBastionRecover") and k.endswith("Function")
    ]


def test_roles_touch_exactly_their_resources() -> None:
    res = resources()
    ddb = sids(res, "ResponderUsersReadCapacityRole")
    assert ddb["TableCapacity"]["Action"] == ["dynamodb:DescribeTable", "dynamodb:UpdateTable"]
    assert ddb["TableCapacity"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/users"}
    ]
    alarm_arn = (
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
        "acme-responders-responder-users-read-capacity"
    )
    assert ddb["StillInAlarm"]["Resource"] == [{"Fn::Sub": alarm_arn}]
    assert ddb["WebhookSecret"]["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:"
        "${AWS::Region}:${AWS::AccountId}:secret:ops/slack-webhook-??????"}]  # fmt: skip
    assert ddb["Markers"]["Resource"] == [{"Fn::GetAtt": ["ResponderMarkers", "Arn"]}]
    rds = sids(res, "ResponderOrdersDiskRole")
    assert rds["InstanceStorage"]["Resource"][0]["Fn::Sub"].endswith(":db:orders")
    assert "WebhookSecret" not in rds and "TableCapacity" not in rds
    lam = sids(res, "ResponderCheckoutThrottlesRole")
    assert lam["FunctionConcurrency"]["Action"] == [
        "lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency",
    ]  # fmt: skip


def test_marker_table_has_a_ttl_and_reaches_every_function() -> None:
    res = resources()
    ttl = res["ResponderMarkers"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}
    functions = [r for r in res.values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 5
    for fn in functions:
        assert fn["Properties"]["Environment"]["Variables"]["OPS_MARKER_TABLE"] == {
            "Ref": "ResponderMarkers"
        }


def problems(item: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config({"stack": {"name": "acme-ops"}, "responder": [item]}, Path("ops.toml"))
    return [f"{p.path}: {p.message}" for p in info.value.problems]


ALARM = {"namespace": "AWS/DynamoDB", "metric": "M", "dimensions": {"TableName": "users"},
         "threshold": 1, "comparison": ">="}  # fmt: skip
GOOD = {"name": "r", "action": "dynamodb-scale", "table": "users", "ceiling": 10, "alarm": ALARM}


@pytest.mark.parametrize(("change", "expected"), [
    ({"alarm": None}, "responder[0]: expected exactly one of `alarm` (define one) or `alarms`"),
    ({"alarms": ["prod-*"]}, "responder[0]: expected exactly one of `alarm`"),
    ({"floor": 20}, "responder[0].floor: expected at most ceiling (10), got 20"),
    ({"factor": 9.0}, "responder[0].factor: expected a value from 1.1 to 4, got 9.0"),
    ({"action": "scale-up"}, "responder[0].action: expected 'dynamodb-scale' or"),
    ({"alarm": {**ALARM, "dimensions": {"TableName": "orders"}}},
     "responder[0].alarm.dimensions: expected TableName = 'users'"),
    ({"alarm": {**ALARM, "period": 45}},
     "responder[0].alarm.period: expected 10, 30 or a multiple"),
    ({"alarm": None, "alarms": ["*"]}, "responder[0].alarms: expected alarm names, or prefixes"),
    ({"alarm": None, "alarms": ["a*b"]}, "responder[0].alarms: expected alarm names, or prefixes"),
])  # fmt: skip
def test_config_mistakes_are_named_by_key_path(change: dict, expected: str) -> None:
    item = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    found = problems(item)
    assert any(p.startswith(expected) for p in found), found


def test_native_action_needs_an_alarm_it_can_recover_with() -> None:
    found = problems({"name": "b", "action": "ec2-recover", "instance": "i-0123456789abcdef0",
                      "dry_run": True, "alarm": {**ALARM, "namespace": "AWS/EC2",
                      "dimensions": {"InstanceId": "i-0123456789abcdef0"}}})  # fmt: skip
    assert "responder[0].alarm.metric: ec2-recover works only on StatusCheckFailed_System" in found
    assert any("takes no dry_run" in p for p in found)


def test_invoke_on_a_native_responder_says_it_has_no_function() -> None:
    result = CliRunner().invoke(cli, ["invoke", "bastion-recover", "--config", str(EXAMPLE)])
    assert result.exit_code != 0
    assert "renders no function of its own (it uses a native action)" in result.output


def test_event_prints_an_sns_wrapped_alarm_the_handler_understands() -> None:
    from functions.responders.alarm import AlarmEvent, parse_event

    result = CliRunner().invoke(cli, ["event", "users-read-capacity", "--config", str(EXAMPLE),
                                      "--region", "eu-west-1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    [alarm] = parse_event(json.loads(result.output))
    assert isinstance(alarm, AlarmEvent) and alarm.source == "sns"
    assert alarm.name == "acme-responders-responder-users-read-capacity"
    assert alarm.region == "eu-west-1" and alarm.dimension("TableName") == {"users"}


def test_a_dry_run_responder_reads_what_it_would_change_and_changes_nothing() -> None:
    """examples/responders.toml: events-write-idle (a dry run) and users-read-capacity (live)
    are both dynamodb-scale; only the live one may UpdateTable."""
    res = resources()

    def actions(role: str) -> set[str]:
        [policy] = res[role]["Properties"]["Policies"]
        return {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}

    live, dry = actions("ResponderUsersReadCapacityRole"), actions("ResponderEventsWriteIdleRole")
    assert "dynamodb:UpdateTable" in live and "dynamodb:DescribeTable" in live
    assert "dynamodb:UpdateTable" not in dry and "dynamodb:DescribeTable" in dry
    # markers, alarms and reads all stay (only the live one has a webhook secret to read)
    assert live - dry == {"dynamodb:UpdateTable", "secretsmanager:GetSecretValue"}


def test_an_alarm_sns_cannot_deliver_goes_to_the_dead_letter_queue() -> None:
    res = resources()
    subscriptions = [r for r in res.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscriptions
    for sub in subscriptions:
        redrive = sub["Properties"]["RedrivePolicy"]
        assert redrive == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    [policy] = [r for r in res.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    sns_leave = statements["SnsDeadLetters"]
    assert sns_leave["Principal"] == {"Service": ["sns.amazonaws.com"]}
    topics = sns_leave["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(t["Ref"] for t in topics) == sorted(
        s["Properties"]["TopicArn"]["Ref"] for s in subscriptions
    )
