"""cfn-lint with the cfn-lint-serverless rules (AWS's serverless-rules) over the render of the
bundled ops.toml and every example, each replica region's stack included: a new finding fails.

Five rules find something on purpose; each is explained below, bounded to the resources it may
fire on, and ES1007 (an async trigger without an on-failure destination) is checked here the way
the rule means it, because the rule compares spellings, not functions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.config import load_config
from ops.models.deployer import replica_regions
from ops.render import render
from tests.conftest import ROOT
from tests.test_render import EXAMPLES

# rule -> (the resource type it may fire on, why that finding stands)
EXPLAINED = {
    "WS1000": (
        "AWS::Lambda::Function",
        "X-Ray tracing is off by design: each run prints its report and EMF metrics, and the "
        "Errors alarm and DLQ catch failures; tracing would cost per trace and need "
        "xray:PutTraceSegments on '*' (no resource-level permissions) in every role",
    ),
    "ES6000": (
        "AWS::SQS::Queue",
        "the queue it names is the stack's dead-letter queue itself: a redrive policy would only "
        "move failures to yet another queue; its depth alarm pages instead",
    ),
    "ES7000": (
        "AWS::SNS::Subscription",
        "a [[function]]'s subscription to a topic the stack does not own: SNS takes a redrive "
        "queue only in the subscription's account and the topic's region, which such a topic "
        "need not share; the stack's own alarm topics redrive to the dead-letter queue "
        "(test_responders_render checks it)",
    ),
    "ES1001": (
        "AWS::Lambda::EventSourceMapping",
        "an SQS mapping (checked below: only those): Lambda takes DestinationConfig for stream "
        "and Kafka sources only; a message that keeps failing goes to the source queue's own "
        "redrive policy, which belongs to the queue's owner",
    ),
    "ES1007": (
        "AWS::Lambda::Permission",
        "every async trigger's function has an EventInvokeConfig with OnFailure: the rule "
        "matches them by identical FunctionName values, and the permission names the function "
        "by GetAtt Arn where the config says Ref (or Ref of the alias with a Qualifier); "
        "test_every_async_trigger_has_an_on_failure_destination checks it by function",
    ),
}
# The rule's list, and CloudWatch Logs, whose subscriptions invoke asynchronously too.
ASYNC_PRINCIPALS = (
    "events.amazonaws.com",
    "logs.amazonaws.com",
    "s3.amazonaws.com",
    "sns.amazonaws.com",
)


def stacks() -> list[tuple[str, str | None]]:
    return [
        (str(path.relative_to(ROOT)), region)  # examples/users-loader/ops.toml is an ops.toml too
        for path in EXAMPLES
        for region in [None, *replica_regions(load_config(path))]
    ]


def rendered(name: str, region: str | None) -> str:
    [path] = [p for p in EXAMPLES if str(p.relative_to(ROOT)) == name]
    return render(load_config(path), region=region)


@pytest.mark.parametrize(("name", "region"), stacks())
def test_serverless_rules_find_nothing_unexplained(name: str, region: str | None) -> None:
    from cfnlint.api import ManualArgs, lint

    body = rendered(name, region)
    resources = json.loads(body)["Resources"]
    args = ManualArgs(regions=[region or "eu-west-1"], append_rules=["cfn_lint_serverless.rules"])
    unexplained = []
    for match in lint(body, config=args):
        path = list(match.path)
        logical = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        kind = resources.get(logical, {}).get("Type")
        source = str(resources.get(logical, {}).get("Properties", {}).get("EventSourceArn"))
        if match.rule.id == "ES1001" and not source.startswith("arn:aws:sqs:"):
            kind = "not an SQS mapping"
        if match.rule.id not in EXPLAINED or EXPLAINED[match.rule.id][0] != kind:
            unexplained.append(f"{match.rule.id} {logical} {match.message}")
    assert unexplained == []


def test_the_serverless_rules_are_loaded_so_the_test_above_can_fail() -> None:
    from cfnlint.api import ManualArgs, lint

    body = rendered("ops.toml", None)
    args = ManualArgs(regions=["eu-west-1"], append_rules=["cfn_lint_serverless.rules"])
    assert {"WS1000", "ES6000"} <= {m.rule.id for m in lint(body, config=args)}


def _function_of(value: Any, resources: dict[str, Any]) -> tuple[str, str]:
    """(function logical id, qualifier) a FunctionName names: Ref, GetAtt Arn, or an alias."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0], "$LATEST"
    target = value["Ref"]
    if resources[target]["Type"] == "AWS::Lambda::Alias":
        props = resources[target]["Properties"]
        return props["FunctionName"]["Ref"], props["Name"]
    return target, "$LATEST"


@pytest.mark.parametrize(("name", "region"), stacks())
def test_every_async_trigger_has_an_on_failure_destination(name: str, region: str | None) -> None:
    resources = json.loads(rendered(name, region))["Resources"]
    configured = {
        (_function_of(r["Properties"]["FunctionName"], resources)[0], r["Properties"]["Qualifier"])
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    }
    triggered = {
        _function_of(r["Properties"]["FunctionName"], resources)
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["Principal"] in ASYNC_PRINCIPALS
    }
    assert triggered, "every example has an asynchronous trigger"
    assert triggered - configured == set()
