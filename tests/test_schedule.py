"""Schedules: time zones through EventBridge Scheduler, and schedules explained in words."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ops.cli import cli
from ops.lint import lint_template
from ops.schedule import explain

TZ_CONFIG = """
[stack]
name = "acme-ops"
[[purge]]
name = "nightly"
target = "s3"
schedule = "cron(0 2 ? * MON-FRI *)"
timezone = "{tz}"
bucket = "acme-media"
prefix = "exports/"
older_than = "7d"
"""


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("rate(1 hour)", "every hour (UTC)"),
        ("rate(5 minutes)", "every 5 minutes (UTC)"),
        ("cron(0/30 * ? * MON-FRI *)", "every 30 minutes, Monday to Friday (UTC)"),
        ("cron(0 12 * * ? *)", "at 12:00, every day (UTC)"),
        ("cron(15 2 ? * SUN *)", "at 02:15, on Sunday (UTC)"),
        ("cron(0 8 ? * MON#2 *)", "at 08:00, the second Monday of the month (UTC)"),
        ("cron(0 8 ? * 6L *)", "at 08:00, the last Friday of the month (UTC)"),
        ("cron(0 3 L * ? *)", "at 03:00, on the last day of the month (UTC)"),
        ("cron(30 1 1,15 * ? *)", "at 01:30, on day 1 and 15 of the month (UTC)"),
        ("cron(5 * * * ? *)", "at minute 5 of every hour, every day (UTC)"),
        ("cron(0 0/6 * * ? *)", "at minute 0, every 6 hours, every day (UTC)"),
    ],
)
def test_schedules_in_words(expression: str, words: str) -> None:
    assert explain(expression) == words


def test_timezone_renders_a_scheduler_schedule_with_a_scoped_role(write_config) -> None:
    path = write_config(TZ_CONFIG.format(tz="Europe/Paris"))
    result = CliRunner().invoke(cli, ["render", "--config", str(path), "--explain"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "purge/nightly: at 02:00, Monday to Friday (Europe/Paris)\n"
    resources = json.loads(result.stdout)["Resources"]
    schedule = resources["PurgeNightlySchedule"]
    assert schedule["Type"] == "AWS::Scheduler::Schedule"
    assert schedule["Properties"]["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["Properties"]["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    [policy] = resources["PurgeNightlySchedulerRole"]["Properties"]["Policies"]
    invoke = policy["PolicyDocument"]["Statement"][0]
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert invoke["Resource"] == [{"Fn::GetAtt": ["PurgeNightlyFunction", "Arn"]}]
    assert "PurgeNightlySchedulePermission" not in resources  # Scheduler invokes with its role
    assert lint_template(result.stdout) == []


def test_unknown_timezone_is_a_config_error(write_config) -> None:
    path = write_config(TZ_CONFIG.format(tz="Mars/Olympus"))
    result = CliRunner().invoke(cli, ["render", "--config", str(path)])
    assert result.exit_code == 2
    assert "purge[0].timezone: expected an IANA time zone name like 'Europe/Paris'" in result.stderr
