"""Config validation: every bad case gets a message naming the key path and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ops.cli import cli
from ops.config import load_config, parse_config
from ops.errors import ConfigError
from ops.schedule import check_schedule
from ops.schema import Duration

GOOD_JOB = {
    "name": "tmp-images",
    "target": "s3",
    "schedule": "rate(1 hour)",
    "bucket": "acme-media",
    "prefix": "tmp/",
    "older_than": "1h",
}


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, Path("ops.toml"))
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def config_with(**job_changes: object) -> dict:
    job = {**GOOD_JOB, **job_changes}
    return {
        "stack": {"name": "acme-ops"},
        "purge": [{k: v for k, v in job.items() if v is not None}],
    }


def test_the_bundled_config_loads() -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "ops.toml")
    assert config.stack.name == "acme-ops"
    assert config.purge[0].older_than == 3600


def test_unknown_key_is_named_with_its_path() -> None:
    [message] = problems(config_with(colour="blue"))
    assert message.startswith("purge[0].colour: unknown key (known keys: bucket, dry_run, ")
    assert "name, older_than, " in message


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("older-than", "older_than"),
        ("olderthan", "older_than"),
        ("dryrun", "dry_run"),
        ("Prefix", "prefix"),
    ],
)
def test_a_mistyped_key_says_which_key_it_probably_is(typo: str, meant: str) -> None:
    [message] = problems(config_with(**{typo: "1h"}))
    assert message.startswith(f"purge[0].{typo}: unknown key (did you mean {meant!r}? known keys: ")


def test_missing_required_key() -> None:
    assert problems(config_with(bucket=None)) == ["purge[0].bucket: missing required key"]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("dry_run", "yes", "purge[0].dry_run: expected true or false, got a string 'yes'"),
        ("memory", "big", "purge[0].memory: expected a whole number, got a string 'big'"),
        ("memory", 64, "purge[0].memory: expected a value from 128 to 10240, got 64"),
        ("timeout", 901, "purge[0].timeout: expected a value from 1 to 900, got 901"),
        ("older_than", "1y", "purge[0].older_than: expected a duration like 30s, 15m, 1h or 7d"),
        ("older_than", "0h", "purge[0].older_than: expected a duration like 30s, 15m, 1h or 7d"),
        ("older_than", 3600, "purge[0].older_than: expected a duration string like '1h'"),
        ("bucket", "Acme_Media", "purge[0].bucket: expected a valid S3 bucket name"),
        ("bucket", "ab", "purge[0].bucket: expected a valid S3 bucket name"),
        ("bucket", "192.168.1.1", "purge[0].bucket: expected a valid S3 bucket name"),
        ("bucket", "acme..media", "purge[0].bucket: expected a valid S3 bucket name"),
        (
            "target",
            "ec2",
            "purge[0].target: expected 'ebs-snapshots' or 'lambda-versions' or 'log-streams' "
            "or 's3'",
        ),
        ("name", "Tmp_Images", "purge[0].name: expected lowercase letters, digits and single"),
        ("schedule", "rate(1 hours)", "purge[0].schedule: expected rate(1 hour)"),
        ("schedule", "rate(0 minutes)", "purge[0].schedule: expected a rate of at least 1"),
        ("schedule", "cron(0 12 * * ?)", "purge[0].schedule: expected cron() with 6 fields"),
        ("schedule", "cron(0 12 * * * *)", "purge[0].schedule: expected '?' in exactly one of"),
        ("schedule", "cron(0 24 ? * MON *)", "purge[0].schedule: invalid hours value '24'"),
        ("schedule", "cron(60 1 ? * MON *)", "purge[0].schedule: invalid minutes value '60'"),
        ("schedule", "cron(0 1 ? 13 MON *)", "purge[0].schedule: invalid month value '13'"),
        ("schedule", "every hour", "purge[0].schedule: expected rate(...) or cron(...)"),
    ],
)
def test_bad_values_name_the_key_and_what_was_expected(
    key: str, value: object, expected: str
) -> None:
    found = problems(config_with(**{key: value}))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_duplicate_names_are_reported() -> None:
    data = {"stack": {"name": "acme-ops"}, "purge": [GOOD_JOB, GOOD_JOB]}
    assert problems(data) == [
        "purge[1].name: 'tmp-images' clashes with purge[0].name (names must differ)"
    ]


def test_function_name_longer_than_lambda_allows() -> None:
    data = {"stack": {"name": "a" * 30}, "purge": [{**GOOD_JOB, "name": "x" * 30}]}
    [message] = problems(data)
    assert "would be 67 characters; Lambda allows 64" in message


def test_stack_table_is_required_and_unknown_sections_named() -> None:
    found = problems({"purges": []})
    assert "purges: unknown section (did you mean 'purge'? known sections:" in found[0]
    assert found[1].startswith("stack: missing required table [stack]")


def test_every_problem_is_reported_at_once() -> None:
    data = config_with(schedule="rate(1 hours)", bucket="B", older_than="soon")
    assert [p.split(":")[0] for p in problems(data)] == [
        "purge[0].schedule",
        "purge[0].older_than",
        "purge[0].bucket",
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 day)",
        "cron(0/30 * ? * MON-FRI *)",
        "cron(0 12 * * ? *)",
        "cron(15 10 ? * 6L 2026-2030)",
        "cron(0 8 ? * MON#2 *)",
        "cron(0 8 15W * ? *)",
        "cron(0 8 L * ? *)",
        "cron(0,15,30,45 8-17 ? JAN-MAR,DEC SUN *)",
    ],
)
def test_valid_schedules(expression: str) -> None:
    assert check_schedule(expression) is None


def test_durations_round_trip() -> None:
    assert Duration.parse("90m") == 5400 and str(Duration.parse("90m")) == "90m"
    assert str(Duration.parse("7d")) == "7d" and str(Duration(3600)) == "1h"


def test_cli_exits_2_with_one_line_per_problem_and_no_traceback(write_config) -> None:
    path = write_config(
        '[stack]\nname = "acme-ops"\n[[purge]]\nname = "a"\ntarget = "s3"\n'
        'schedule = "rate(1 hours)"\nbucket = "acme-media"\nprefix = "tmp/"\nolder_than = "1w"\n'
    )
    result = CliRunner().invoke(cli, ["render", "--config", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {path}: purge[0].schedule: expected rate(1 hour) ('hour' for 1), "
        "got 'rate(1 hours)'",
        f"Error: {path}: purge[0].older_than: expected a duration like 30s, 15m, 1h or 7d, "
        "got '1w'",
    ]
    assert "Traceback" not in result.output


def test_cli_reads_ops_config_env_and_reports_missing_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OPS_CONFIG", str(tmp_path / "nowhere.toml"))
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 2
    assert "nowhere.toml: no such file (pass --config PATH or set OPS_CONFIG)" in result.stderr


def test_invalid_toml_is_a_config_error(write_config) -> None:
    path = write_config("[stack\nname=1")
    result = CliRunner().invoke(cli, ["render", "--config", str(path)])
    assert result.exit_code == 2 and "not valid TOML" in result.stderr


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        ({"aws:team": "sre"}, "'aws:team': the aws: prefix and ops:stack are reserved"),
        ({"AWS:team": "sre"}, "'AWS:team': the aws: prefix"),
        ({"ops:stack": "x"}, "'ops:stack': the aws: prefix and ops:stack are reserved"),
        ({"team": "x" * 257}, "'team': a value is 1 to 256"),
        ({"team": ""}, "'team': a value is 1 to 256"),
        ({"k" * 129: "x"}, "a key is 1 to 128"),
        ({"team": "a;b"}, "'team': a value is 1 to 256 letters"),
        (
            {f"t{i}": "x" for i in range(50)},
            "at most 49 tags (CloudFormation's 50, one is ops:stack)",
        ),
    ],
)
def test_tags_cloudformation_would_refuse_are_config_errors(tags: dict, says: str) -> None:
    data = {"stack": {"name": "acme-ops", "tags": tags}, "purge": [GOOD_JOB]}
    [message] = problems(data)
    assert message.startswith("stack.tags: ") and says in message, message


def test_tags_within_the_limits_load() -> None:
    tags = {f"t{i}": "x" for i in range(48)} | {"cost-centre": "SRE / 42 @ eu:west=+_."}
    config = parse_config(
        {"stack": {"name": "acme-ops", "tags": tags}, "purge": [GOOD_JOB]}, Path("ops.toml")
    )
    assert config.stack.tags == tags
