"""The lambda-versions, ebs-snapshots and log-streams jobs: config checks and scoped policies."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from ops.config import load_config, parse_config
from ops.errors import ConfigError
from ops.render import render
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "purge-targets.toml"
# The only actions that may have a "*" resource: APIs without resource-level permissions.
LIST_APIS = {
    "tag:GetResources",
    "lambda:ListFunctions",
    "lambda:ListEventSourceMappings",
    "ec2:DescribeSnapshots",
    "ec2:DescribeImages",
    "logs:DescribeLogGroups",
}


def live(text: str) -> str:
    """The config with every job live (a dry run's role may not delete: see the last test)."""
    return re.sub(r"(?m)^dry_run = .*\n", "", text)


def role_statements(logical: str) -> dict[str, dict[str, Any]]:
    tpl = json.loads(render(parse_config(tomllib.loads(live(EXAMPLE.read_text())), EXAMPLE)))
    [policy] = tpl["Resources"][logical]["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


@pytest.mark.parametrize(
    "role", ["PurgeOrdersVersionsRole", "PurgeNightlySnapshotsRole", "PurgeQuietLogStreamsRole"]
)
def test_no_wildcard_action_and_star_resources_only_for_list_apis(role) -> None:
    for statement in role_statements(role).values():
        assert all("*" not in action for action in statement["Action"])
        if "*" in statement["Resource"]:
            assert set(statement["Action"]) <= LIST_APIS, statement


def test_lambda_versions_policy_deletes_only_versions_of_prefixed_functions() -> None:
    sids = role_statements("PurgeOrdersVersionsRole")
    prefix = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:orders-*"
    assert sids["DeleteVersions"]["Action"] == ["lambda:DeleteFunction"]
    assert sids["DeleteVersions"]["Resource"] == [{"Fn::Sub": prefix + ":*"}]
    assert sids["ReadVersionsAndUsers"]["Resource"] == [{"Fn::Sub": prefix}]
    # tags given: functions are found through the tagging API, not ListFunctions
    assert "tag:GetResources" in sids["FindFunctions"]["Action"]
    assert "lambda:ListFunctions" not in sids["FindFunctions"]["Action"]


def test_ebs_snapshots_policy_deletes_only_snapshots_with_the_selection_tags() -> None:
    delete = role_statements("PurgeNightlySnapshotsRole")["DeleteTaggedSnapshots"]
    assert delete["Action"] == ["ec2:DeleteSnapshot"]
    assert delete["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*"}
    ]
    assert delete["Condition"] == {
        "StringEquals": {"aws:ResourceTag/backup": "nightly", "aws:ResourceTag/env": "staging"}
    }


def test_log_streams_policy_is_scoped_to_the_group_prefix() -> None:
    purge = role_statements("PurgeQuietLogStreamsRole")["PurgeStreamsUnderPrefix"]
    assert purge["Action"] == ["logs:DescribeLogStreams", "logs:DeleteLogStream"]
    assert purge["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
            ":log-group:/aws/lambda/orders-*"
        }
    ]


def test_job_settings_reach_the_function() -> None:
    tpl = json.loads(render(load_config(EXAMPLE)))
    props = tpl["Resources"]["PurgeOrdersVersionsFunction"]["Properties"]
    job = json.loads(props["Environment"]["Variables"]["OPS_JOB"])
    assert job["target"] == "lambda-versions" and job["keep"] == 5 and job["max_rate"] == 4.0
    assert job["function_prefix"] == "orders-" and job["tags"] == {"team": "payments"}
    assert props["ReservedConcurrentExecutions"] == 1


@pytest.mark.parametrize(
    ("block", "path", "message"),
    [
        ('target = "ebs-snapshots"', "purge[0].tags", "missing required key"),
        ('target = "ebs-snapshots"\ntags = {}', "purge[0].tags", "at least one tag"),
        ('target = "log-streams"\nlog_group_prefix = ""', "purge[0].log_group_prefix", "log group"),
        (
            'target = "lambda-versions"\nfunction_prefix = "a:b"',
            "purge[0].function_prefix",
            "Lambda",
        ),
        ('target = "lambda-versions"\nmax_rate = 15.0', "purge[0].max_rate", "from 0.1 to 10"),
        ('target = "lambda-versions"\nkeep = -1', "purge[0].keep", "from 0 to 1000"),
    ],
)
def test_bad_target_settings_are_reported_with_their_key_path(
    write_config, block, path, message
) -> None:
    text = (
        '[stack]\nname = "s"\n[[purge]]\nname = "j"\nschedule = "rate(1 day)"\n'
        f'older_than = "7d"\n{block}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(text))
    problems = {(p.path, p.message) for p in caught.value.problems}
    assert any(p == path and message in m for p, m in problems), problems


@pytest.mark.parametrize("path", [EXAMPLE, ROOT / "examples" / "purge-s3.toml", ROOT / "ops.toml"])
def test_a_dry_run_job_gets_a_role_that_cannot_delete(path, write_config) -> None:
    text = live(path.read_text())
    config = load_config(write_config(text.replace("[[purge]]\n", "[[purge]]\ndry_run = true\n")))
    assert config.purge and all(job.dry_run for job in config.purge)
    rendered = {
        "live": json.loads(render(load_config(write_config(text, "live.toml"))))["Resources"],
        "dry": json.loads(render(config))["Resources"],
    }
    for job in config.purge:
        role = f"Purge{''.join(p.capitalize() for p in job.name.split('-'))}Role"
        actions = {
            name: {
                a
                for s in res[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                for a in s["Action"]
            }
            for name, res in rendered.items()
        }
        deleting = {a for a in actions["live"] if a.split(":")[1].startswith("Delete")}
        assert deleting, f"{role}: the live job deletes nothing, so this proves nothing"
        assert actions["dry"] == actions["live"] - deleting, role  # reads stay, deletes go
