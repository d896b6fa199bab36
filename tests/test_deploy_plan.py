"""Decisions `ops apply` takes from CloudFormation's answers: which operation for which stack
state, capabilities, tags, parameters, change-set summaries, region order. No AWS needed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from ops.deploy.plan import (
    OWNER_TAG,
    Action,
    StackState,
    apply_order,
    capabilities,
    code_keys,
    decide,
    destroy_order,
    load_parameters,
    stack_parameters,
    stack_tags,
    summarize,
)
from ops.deploy.request import StackRequest
from ops.deploy.steps import plan_apply, plan_destroy
from ops.deploy.summary import RegionResult, change_lines, region_lines
from ops.errors import EXIT_FAILED, EXIT_USAGE, UsageError

OWNED = {OWNER_TAG: "acme-ops"}


def state(status: str | None, tags: dict[str, str] | None = None, reason: str = "") -> StackState:
    sid = "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-ops/1" if status else None
    return StackState("acme-ops", "eu-west-1", status, sid, reason or None, tags or {})


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (None, Action.CREATE),
        ("REVIEW_IN_PROGRESS", Action.CREATE),
        ("DELETE_COMPLETE", Action.CREATE),
        ("CREATE_COMPLETE", Action.UPDATE),
        ("UPDATE_COMPLETE", Action.UPDATE),
        ("UPDATE_ROLLBACK_COMPLETE", Action.UPDATE),
        ("IMPORT_COMPLETE", Action.UPDATE),
        ("CREATE_IN_PROGRESS", Action.WAIT),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Action.WAIT),
        ("UPDATE_ROLLBACK_IN_PROGRESS", Action.WAIT),
        ("DELETE_IN_PROGRESS", Action.WAIT),
    ],
)
def test_operation_for_each_usable_state(status: str | None, action: Action) -> None:
    assert decide(state(status)).action is action


def test_failed_first_creation_is_recreated_only_when_ops_made_it() -> None:
    assert decide(state("ROLLBACK_COMPLETE", OWNED)).action is Action.RECREATE
    foreign = decide(state("ROLLBACK_COMPLETE", {OWNER_TAG: "someone-else"}))
    assert foreign.action is Action.REFUSE and foreign.exit_code == EXIT_FAILED
    assert (
        "aws cloudformation delete-stack --stack-name acme-ops --region eu-west-1"
        in foreign.message
    )


def test_update_rollback_failed_needs_continue_rollback() -> None:
    refused = decide(state("UPDATE_ROLLBACK_FAILED", reason="Role X could not be restored"))
    assert refused.action is Action.REFUSE
    assert "--continue-rollback" in refused.message and "Role X could not" in refused.message
    allowed = decide(state("UPDATE_ROLLBACK_FAILED"), continue_rollback=True)
    assert allowed.action is Action.CONTINUE_ROLLBACK


def test_continue_rollback_on_a_healthy_stack_is_a_usage_error() -> None:
    decision = decide(state("UPDATE_COMPLETE"), continue_rollback=True)
    assert decision.action is Action.REFUSE and decision.exit_code == EXIT_USAGE


@pytest.mark.parametrize("status", ["ROLLBACK_FAILED", "DELETE_FAILED", "CREATE_FAILED"])
def test_delete_only_states_print_the_delete_command(status: str) -> None:
    decision = decide(state(status))
    assert decision.action is Action.REFUSE
    assert "aws cloudformation delete-stack --stack-name acme-ops" in decision.message


def role(**props: str) -> dict[str, object]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, **props}}


def test_capabilities_follow_the_iam_resources() -> None:
    assert capabilities({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}) == []
    assert capabilities({"Resources": {"R": role()}}) == ["CAPABILITY_IAM"]
    named = {"Resources": {"R": role(), "N": role(RoleName="fixed")}}
    assert capabilities(named) == ["CAPABILITY_NAMED_IAM"]


def test_code_keys_are_the_functions_s3_keys() -> None:
    fn = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": "functions/a/1.zip"}}}
    other = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}}
    assert code_keys({"Resources": {"A": fn, "B": fn, "C": other}}) == ["functions/a/1.zip"]


def test_ownership_tag_is_added_and_cannot_be_overridden() -> None:
    tags = stack_tags("acme-ops", {"team": "sre", OWNER_TAG: "spoofed"})
    assert tags == [{"Key": OWNER_TAG, "Value": "acme-ops"}, {"Key": "team", "Value": "sre"}]


def test_parameters_file_json_and_toml(tmp_path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"Size": 3, "On": True}))
    (tmp_path / "p.toml").write_text('Name = "x"\n')
    assert load_parameters(tmp_path / "p.json") == {"Size": "3", "On": "true"}
    assert load_parameters(tmp_path / "p.toml") == {"Name": "x"}
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(UsageError, match="expected a table"):
        load_parameters(tmp_path / "bad.json")


def test_parameters_the_template_does_not_declare_are_refused() -> None:
    template = {"Parameters": {"Size": {"Type": "Number"}}}
    assert stack_parameters(template, {"Size": "3"}) == [
        {"ParameterKey": "Size", "ParameterValue": "3"}
    ]
    with pytest.raises(UsageError, match="Colour not in the template"):
        stack_parameters(template, {"Colour": "red"})


def page(status: str, reason: str = "", changes: list | None = None) -> dict:
    return {
        "ChangeSetId": "arn:cs",
        "StackId": "arn:stack",
        "Status": status,
        "StatusReason": reason,
        "CreationTime": datetime(2024, 1, 1, tzinfo=UTC),
        "Changes": changes or [],
    }


def change(action: str, lid: str, replacement: str | None = None) -> dict:
    rc = {"Action": action, "LogicalResourceId": lid, "ResourceType": "AWS::IAM::Role"}
    if replacement:
        rc["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": rc}


@pytest.mark.parametrize(
    "reason",
    [
        "The submitted information didn't contain changes. Submit different information.",
        "No updates are to be performed.",
    ],
)
def test_no_changes_is_recognised_from_either_wording(reason: str) -> None:
    summary = summarize([page("FAILED", reason)])
    assert summary.no_changes and not summary.failed


def test_a_real_failure_is_not_mistaken_for_no_changes() -> None:
    summary = summarize([page("FAILED", "Template format error: unresolved resource X")])
    assert summary.failed and not summary.no_changes


def test_summary_spans_pages_and_flags_replacements() -> None:
    summary = summarize(
        [
            page("CREATE_COMPLETE", changes=[change("Add", "A")]),
            page("CREATE_COMPLETE", changes=[change("Modify", "B", "True"), change("Remove", "C")]),
        ]
    )
    lines = change_lines("acme-ops", "eu-west-1", summary)
    assert lines[0] == "Changes to stack acme-ops in eu-west-1:"
    assert any(line.strip().startswith("~ Modify  B") and "REPLACED" in line for line in lines)
    assert (
        lines[-1].strip() == "1 to add, 1 to modify, 1 to remove (1 replaced or possibly replaced)"
    )


def test_region_summary_names_skipped_regions() -> None:
    lines = region_lines([RegionResult("us-east-1", "failed", 1, "boom")], ["eu-west-1"])
    assert lines[1].split() == ["us-east-1", "failed:", "boom"]
    assert "eu-west-1" in lines[2] and "not attempted" in lines[2]


def test_regions_come_in_order_without_repeats() -> None:
    class NoDeployer:
        deployer = None

    assert apply_order(NoDeployer(), ["eu-west-1", "us-east-1", "eu-west-1"]) == [
        "eu-west-1",
        "us-east-1",
    ]


def test_replica_regions_go_first() -> None:
    from types import SimpleNamespace

    replicas = {"us-east-1": "acme-deploy-use1", "ap-northeast-1": "acme-deploy-apne1"}
    config = SimpleNamespace(deployer=SimpleNamespace(replicas=replicas))
    assert apply_order(config, ["eu-west-1", "us-east-1"]) == [
        "ap-northeast-1",
        "us-east-1",
        "eu-west-1",
    ]
    assert destroy_order(config, ["eu-west-1"]) == ["eu-west-1", "us-east-1", "ap-northeast-1"]


def _request(**extra: Any) -> StackRequest:
    fn = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": "functions/a/1.zip"}}}
    return StackRequest(stack="s", template={"Resources": {"Fn": fn}}, **extra)


def test_the_planner_lists_every_step_of_a_first_apply_in_order() -> None:
    steps = plan_apply(
        StackState(name="s", region="eu-west-1"), _request(termination_protection=True)
    )
    assert [s.kind for s in steps] == ["change-set", "confirm", "upload-code", "execute", "protect"]
    assert steps[0].to_dict() == {"step": "change-set", "type": "CREATE"}
    assert steps[2].to_dict() == {"step": "upload-code", "keys": ("functions/a/1.zip",)}


def test_an_update_is_not_protected_again_and_a_large_template_is_uploaded_first() -> None:
    state = StackState(name="s", region="eu-west-1", status="UPDATE_COMPLETE", stack_id="id")
    small = _request(termination_protection=True)
    big = replace(small, template={**small.template, "Description": "x" * 60_000})
    steps = plan_apply(state, big)
    assert [s.kind for s in steps] == [
        "upload-template",
        "change-set",
        "confirm",
        "upload-code",
        "execute",
    ]
    assert steps[1].to_dict() == {"step": "change-set", "type": "UPDATE"}


def test_a_stack_in_the_way_is_one_recover_step_and_destroy_refuses_a_busy_one() -> None:
    busy = StackState(name="s", region="eu-west-1", status="UPDATE_IN_PROGRESS", stack_id="id")
    [step] = plan_apply(busy, _request())
    assert step.to_dict()["action"] == "wait"
    [refusal] = plan_destroy(busy)
    assert refusal.kind == "refuse" and "run ops destroy when it ends" in refusal.describe()
    assert [s.kind for s in plan_destroy(replace(busy, status="UPDATE_COMPLETE"))] == [
        "confirm",
        "delete",
    ]
