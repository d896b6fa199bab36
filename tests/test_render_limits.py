"""A config CloudFormation would refuse is one `Error:` line (exit 2) at render time, naming how
many resources and which sections they come from, before any AWS call: troposphere's own
500-resource ValueError used to fire first, as a traceback (issue 20)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ops.aws import AwsTarget, _session
from ops.cli import cli
from ops.config import load_config
from ops.errors import EXIT_USAGE, ConfigError
from ops.render import LIMITS, build_template, check_size, render
from tests.configs import many_jobs


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building any AWS client fails the test: the limit is found before one."""

    def client(self: AwsTarget, service: str, **config: Any) -> Any:
        raise AssertionError(f"an AWS client for {service} was built")

    monkeypatch.setattr(AwsTarget, "client", client)
    _session.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def only_error(result: Result) -> str:
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("count", [72, 200])
def test_too_many_jobs_is_one_error_naming_the_counts_and_the_quotas(
    write_config: Any, count: int
) -> None:
    path = write_config(many_jobs(count))
    line = only_error(run("render", "--config", str(path)))
    total = int(re.search(r"would have (\d+) resources", line).group(1))  # type: ignore[union-attr]
    purge = int(re.search(rf"purge: (\d+) for {count} items", line).group(1))  # type: ignore[union-attr]
    assert total > LIMITS["resources"] and purge <= total
    assert line.startswith(f"Error: {path}: the template would have {total} resources")
    assert "CloudFormation allows 500 resources and 1 MB (1,048,576 bytes) per template" in line
    assert line.endswith("split the config into several stacks")


def test_the_count_is_what_the_template_would_hold(write_config: Any) -> None:
    config = load_config(write_config(many_jobs(72)))
    template = build_template(config)
    assert sum(template.families.values()) == len(template.resources) > LIMITS["resources"]
    assert template.item_counts == {"purge": 72}


def test_the_largest_config_under_the_limit_still_renders(write_config: Any) -> None:
    config = load_config(write_config(many_jobs(49)))
    assert '"AWS::Lambda::Function"' in render(config)


@pytest.mark.usefixtures("no_aws")
@pytest.mark.parametrize("command", ["apply --yes", "validate"])
def test_apply_and_validate_stop_before_any_aws_call(
    write_config: Any, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    path = write_config(many_jobs(72))
    line = only_error(run(*command.split(), "--config", str(path), "--region", "us-east-1"))
    assert "the template would have" in line and "500 resources" in line


def test_a_template_over_one_megabyte_is_refused_with_its_size(write_config: Any) -> None:
    template = build_template(load_config(write_config(many_jobs(3))))
    check_size(template, "x" * 1_048_576)  # exactly the quota: accepted
    with pytest.raises(ConfigError) as caught:
        check_size(template, "x" * 1_048_577, "ops.toml")
    [problem] = caught.value.problems
    assert problem.message.startswith(
        f"the template is 1,048,577 bytes, with {len(template.resources)} resources (purge: "
    )
    assert "1 MB (1,048,576 bytes)" in problem.message


def test_the_unbounded_template_still_refuses_a_duplicate_logical_id(write_config: Any) -> None:
    template = build_template(load_config(write_config(many_jobs(2))))
    with pytest.raises(ValueError, match="duplicate key"):
        template.add_resource(template.resources[next(iter(template.resources))])
