"""Safe defaults of the purge caps: every job is capped unless a 0 is written, which means no
limit, and reaches the function as no cap."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.config import load_config
from ops.models.purge import DEFAULT_LISTED_PERCENT, DEFAULT_MAX_DELETES
from ops.render import build_template

TARGETS = {
    "s3": 'bucket = "acme-media"\nprefix = "tmp/"',
    "lambda-versions": 'function_prefix = "api-"',
    "ebs-snapshots": 'tags = { backup = "nightly" }',
    "log-streams": 'log_group_prefix = "/aws/lambda/api-"',
}


def ops_job(write_config: Any, target: str, extra: str = "") -> dict[str, Any]:
    text = (
        f'[stack]\nname = "caps"\n\n[[purge]]\nname = "job"\ntarget = "{target}"\n'
        f'schedule = "rate(1 day)"\nolder_than = "7d"\n{TARGETS[target]}\n{extra}'
    )
    template = build_template(load_config(write_config(text))).to_dict()
    [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    job: dict[str, Any] = json.loads(function["Properties"]["Environment"]["Variables"]["OPS_JOB"])
    return job


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target_is_capped_by_default(write_config: Any, target: str) -> None:
    job = ops_job(write_config, target)
    assert job["max_deletes"] == DEFAULT_MAX_DELETES
    listed = target in ("lambda-versions", "ebs-snapshots")
    assert job["max_delete_percent"] == (DEFAULT_LISTED_PERCENT if listed else None)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_written_zero_means_no_limit(write_config: Any, target: str) -> None:
    job = ops_job(write_config, target, "max_deletes = 0\nmax_delete_percent = 0")
    assert (job["max_deletes"], job["max_delete_percent"]) == (None, None)


def test_a_written_cap_is_kept(write_config: Any) -> None:
    job = ops_job(write_config, "s3", "max_deletes = 5\nmax_delete_percent = 20")
    assert (job["max_deletes"], job["max_delete_percent"]) == (5, 20)
