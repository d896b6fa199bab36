"""Log processor config checks and what they render: subscriptions, permissions, no loops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ops.config import SECTIONS, parse_config
from ops.errors import ConfigError
from ops.render import render
from tests.conftest import ROOT


def processors(*items: dict[str, Any]) -> dict[str, Any]:
    return {"stack": {"name": "acme-ops"}, "log_processor": list(items)}


def reports(name: str, *groups: str) -> dict[str, Any]:
    return {"name": name, "action": "lambda-report-metrics", "log_groups": list(groups)}


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, Path("ops.toml"))
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def resources(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(render(parse_config(data, Path("ops.toml"))))["Resources"]


def test_a_processor_never_reads_its_own_log_group() -> None:
    [message] = problems(processors(reports("loop", "/aws/lambda/acme-ops-logs-loop")))
    assert message.startswith("log_processor[0].log_groups: '/aws/lambda/acme-ops-logs-loop' is")


def test_at_most_two_subscription_filters_per_group() -> None:
    found = problems(
        processors(
            reports("a", "/aws/lambda/api"),
            reports("b", "/aws/lambda/api"),
            reports("c", "/aws/lambda/*"),
        )
    )
    assert found == [
        "log_processor[2].log_groups: '/aws/lambda/api' would get 3 subscription filters "
        "(log_processor[0], log_processor[1], log_processor[2]); CloudWatch Logs allows 2 "
        "per log group"
    ]


def test_one_prefix_processor_per_account_and_sink_choice() -> None:
    alert = {"name": "c", "action": "pattern-alert", "log_groups": ["/x*"]}
    assert problems(processors(reports("a", "/a*"), reports("b", "/b*"), alert)) == [
        "log_processor[2]: expected exactly one of `topic` or `webhook_secret`",
        "log_processor[1].log_groups: only one processor may use prefixes ending in * (they "
        "render the account's one subscription filter policy, already used by log_processor[0])",
        "log_processor[2].log_groups: only one processor may use prefixes ending in * (they "
        "render the account's one subscription filter policy, already used by log_processor[0])",
    ]


def test_bad_keys_are_named() -> None:
    bad = {**reports("a", "no spaces allowed"), "concurrency": 0}
    assert problems(processors(bad)) == [
        "log_processor[0].log_groups: expected log group names (letters, digits and . - _ / #, "
        "up to 512 characters) or prefixes ending in *, got 'no spaces allowed'",
        "log_processor[0].concurrency: expected a value from 1 to 1000, got 0",
    ]


def test_bundled_config_subscribes_after_its_own_log_group_exists() -> None:
    res = json.loads(render(__import__("ops.config").config.load_config(ROOT / "ops.toml")))
    res = res["Resources"]
    sub = res["LogsLambdaReportsAwsLambdaAcmeOpsPurgeTmpImagesSubscription"]
    assert sub["Properties"]["LogGroupName"] == "/aws/lambda/acme-ops-purge-tmp-images"
    assert "PurgeTmpImagesLogGroup" in sub["DependsOn"]
    permission = res[sub["DependsOn"][0]]["Properties"]
    assert permission["Principal"] == "logs.amazonaws.com"
    assert permission["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
        "log-group:/aws/lambda/acme-ops-purge-tmp-images:*"
    }
    fn = res["LogsLambdaReportsFunction"]["Properties"]
    assert fn["ReservedConcurrentExecutions"] == 5
    assert res["LogsLambdaReportsInvokeConfig"]["Properties"]["DestinationConfig"]
    assert "LogsLambdaReportsErrorsAlarm" in res


def test_a_group_a_later_family_creates_is_still_waited_for() -> None:
    # The deployer renders after the log processors, so its log group is not in the template
    # yet when the subscription is added; the filter must still wait for it.
    order = [s.key for s in SECTIONS]
    assert order.index("log_processor") < order.index("deployer")
    own = "/aws/lambda/acme-ops-deployer-deployer"
    deployer = {
        "region": "eu-west-1",
        "bucket": "acme-functions-eu-west-1",
        "stages": ["prod"],
        "functions": ["api"],
        "writers": ["arn:aws:iam::123456789012:role/ci"],
    }
    res = resources({**processors(reports("r", own, "/aws/lambda/api")), "deployer": deployer})
    assert res["DeployerDeployerLogGroup"]["Properties"]["LogGroupName"] == own
    sub = res["LogsRAwsLambdaAcmeOpsDeployerDeployerSubscription"]
    assert sub["Properties"]["LogGroupName"] == own
    assert sub["DependsOn"] == [
        "LogsRAwsLambdaAcmeOpsDeployerDeployerPermission",
        "DeployerDeployerLogGroup",
    ]
    # A group the stack does not create is only waited for by its permission.
    other = res["LogsRAwsLambdaApiSubscription"]
    assert other["DependsOn"] == ["LogsRAwsLambdaApiPermission"]


def test_every_named_group_gets_its_own_filter_and_permission() -> None:
    res = resources(processors(reports("r", "/aws/lambda/api", "/a.b", "/a-b")))
    subs = {r["Properties"]["LogGroupName"] for r in res.values() if r["Type"].endswith("Filter")}
    assert subs == {"/aws/lambda/api", "/a.b", "/a-b"}
    perms = [r for r in res.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert len(perms) == 3  # `/a.b` and `/a-b` get distinct logical ids
    role = res["LogsRRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert {s["Sid"] for s in role} == {"OwnLogGroup", "DeadLetters"}  # EMF needs nothing more


def test_prefixes_render_the_account_policy_without_the_own_group() -> None:
    res = resources(processors(reports("r", "/aws/lambda/acme-*")))
    policy = res["LogsRAccountPolicy"]["Properties"]
    assert policy["PolicyType"] == "SUBSCRIPTION_FILTER_POLICY"
    assert policy["SelectionCriteria"] == 'LogGroupName NOT IN ["/aws/lambda/acme-ops-logs-r"]'
    job = json.loads(res["LogsRFunction"]["Properties"]["Environment"]["Variables"]["OPS_JOB"])
    assert job["log_groups"] == ["/aws/lambda/acme-*"]


def test_metric_filter_renders_no_function() -> None:
    item = {
        "name": "throttles",
        "action": "metric-filter",
        "log_groups": ["/aws/lambda/api"],
        "filter_pattern": "Rate exceeded",
        "metric_name": "Throttles",
        "alarm_threshold": 3,
    }
    res = resources(processors(item))
    assert sorted(r["Type"] for r in res.values()) == [
        "AWS::CloudWatch::Alarm",
        "AWS::Logs::MetricFilter",
    ]
    assert res["LogsThrottlesAlarm"]["Properties"]["Threshold"] == 3
