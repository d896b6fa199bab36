"""`ops plan` shows what `ops apply` and `ops destroy` then do: the display executor's steps
(`--json`) against the steps apply and destroy perform, on a moto server, region by region.

A create, an update of one function, a no-op, and a destroy of a stack with a deployer replica
region: each time plan's regions and steps (with the change set's changes) must be apply's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ops.aws import _session
from ops.cli import cli
from tests.configs import two_jobs

pytestmark = pytest.mark.e2e

PRIMARY, REPLICA = "eu-west-1", "us-east-1"
STACK = "plan-apply"
DEPLOYER = f"""
[deployer]
region = "{PRIMARY}"
bucket = "plan-apply-code-{PRIMARY}"
stages = ["prod"]
functions = ["api"]
writers = ["arn:aws:iam::123456789012:role/ci"]
replicas = {{ "{REPLICA}" = "plan-apply-code-{REPLICA}" }}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _session.cache_clear()
    path = tmp_path / "ops.toml"
    path.write_text(two_jobs(STACK, "1h") + DEPLOYER)
    monkeypatch.setenv("OPS_CONFIG", str(path))
    return path


def run(endpoint: str, *args: str) -> list[dict[str, Any]]:
    """The command's regions, each {region, result, exit_code, detail, steps}, from --json."""
    result = CliRunner().invoke(cli, [*args, "--json", "--endpoint-url", endpoint])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def steps(regions: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(r["region"], r["steps"]) for r in regions]


def kinds(region: dict[str, Any]) -> list[str]:
    return [s["step"] for s in region["steps"]]


def test_plan_shows_the_steps_apply_then_takes_and_destroy_too(
    moto_endpoint: str, config: Path
) -> None:
    where = ("--region", PRIMARY)
    planned = run(moto_endpoint, "plan", *where)
    applied = run(moto_endpoint, "apply", "--yes", *where)
    assert [r["region"] for r in applied] == [REPLICA, PRIMARY]  # the replica first
    assert steps(planned) == steps(applied)
    assert [r["result"] for r in planned] == ["planned", "planned"]
    assert [r["result"] for r in applied] == ["created", "created"]
    primary = applied[1]
    assert kinds(primary) == ["change-set", "confirm", "upload-code", "execute"]
    added = {c["logical_id"] for c in primary["steps"][0]["changes"] if c["action"] == "Add"}
    assert {"PurgeTmpImagesFunction", "PurgeOldLogsFunction"} <= added

    config.write_text(config.read_text().replace('older_than = "1h"', 'older_than = "2h"', 1))
    planned = run(moto_endpoint, "plan", *where)
    applied = run(moto_endpoint, "apply", "--yes", *where)
    assert steps(planned) == steps(applied)
    assert [r["result"] for r in applied] == ["no changes", "updated"]
    [change_set] = [s for s in applied[1]["steps"] if s["step"] == "change-set"]
    assert [(c["action"], c["logical_id"]) for c in change_set["changes"]] == [
        ("Modify", "PurgeTmpImagesFunction")
    ]

    planned = run(moto_endpoint, "plan", *where)
    applied = run(moto_endpoint, "apply", "--yes", *where)
    assert steps(planned) == steps(applied)
    assert [kinds(r) for r in applied] == [["change-set"], ["change-set"]]  # and no more

    planned = run(moto_endpoint, "plan", "--destroy", *where)
    destroyed = run(moto_endpoint, "destroy", "--yes", *where)
    assert [r["region"] for r in destroyed] == [PRIMARY, REPLICA]  # apply's order, reversed
    assert steps(planned) == steps(destroyed)
    assert [kinds(r) for r in destroyed] == [["confirm", "delete"], ["confirm", "delete"]]
    for region in (PRIMARY, REPLICA):
        cfn = boto3.client("cloudformation", region_name=region, endpoint_url=moto_endpoint)
        live = [
            s["StackName"]
            for s in cfn.list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        ]
        assert STACK not in live, region
    assert steps(run(moto_endpoint, "plan", "--destroy", *where)) == [
        (PRIMARY, [{"step": "nothing-to-delete"}]),
        (REPLICA, [{"step": "nothing-to-delete"}]),
    ]
