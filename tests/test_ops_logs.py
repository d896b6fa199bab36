"""`ops logs` on a moto server: functions interleaved by timestamp, families, filters, unknown
names, and `--follow` in a real process stopped with Ctrl-C (SIGINT), which exits 0."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ops.cli import cli
from tests.configs import two_jobs

pytestmark = pytest.mark.e2e

REGION = "eu-west-1"
STACK = "acme-tail"
TMP = f"/aws/lambda/{STACK}-purge-tmp-images"
OLD = f"/aws/lambda/{STACK}-purge-old-logs"


@pytest.fixture
def world(moto_endpoint: str, tmp_path: Path) -> Iterator[tuple[str, Path, Any]]:
    logs = boto3.client("logs", region_name=REGION, endpoint_url=moto_endpoint)
    for group in (TMP, OLD):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
    config = tmp_path / "ops.toml"
    config.write_text(two_jobs(STACK))
    yield moto_endpoint, config, logs
    for group in (TMP, OLD):
        logs.delete_log_group(logGroupName=group)


def put(logs: Any, group: str, *events: tuple[int, str]) -> None:
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": t, "message": m} for t, m in events],
    )


def run(endpoint: str, config: Path, *args: str) -> Any:
    argv = ["logs", "--config", str(config), "--region", REGION, "--endpoint-url", endpoint]
    return CliRunner().invoke(cli, [*argv, *args])


def test_two_functions_interleave_by_timestamp_with_their_names(
    world: tuple[str, Path, Any],
) -> None:
    endpoint, config, logs = world
    t = int(time.time() * 1000) - 60_000
    put(logs, TMP, (t, "first"), (t + 2, "third"))
    put(logs, OLD, (t + 1, "second"), (t + 3, "fourth"))
    result = run(endpoint, config, "tmp-images", "old-logs")
    assert result.exit_code == 0, result.output
    words = [line.split("  ", 2)[1:] for line in result.stdout.splitlines()]
    assert words == [
        [f"{STACK}-purge-tmp-images", "first"],
        [f"{STACK}-purge-old-logs", "second"],
        [f"{STACK}-purge-tmp-images", "third"],
        [f"{STACK}-purge-old-logs", "fourth"],
    ]
    assert result.stdout.splitlines()[0].endswith("Z  acme-tail-purge-tmp-images  first")


def test_a_family_a_filter_and_since(world: tuple[str, Path, Any]) -> None:
    endpoint, config, logs = world
    now = int(time.time() * 1000)
    put(logs, TMP, (now - 3 * 3600_000, "ERROR too old"), (now - 60_000, "ERROR recent"))
    put(logs, OLD, (now - 30_000, "ERROR other"), (now - 20_000, "fine"))
    result = run(endpoint, config, "purge", "--filter", "ERROR", "--since", "1h")
    assert result.exit_code == 0, result.output
    assert [line.split("  ", 2)[2] for line in result.stdout.splitlines()] == [
        "ERROR recent",
        "ERROR other",
    ]


def test_an_unknown_name_lists_the_names_there_are(world: tuple[str, Path, Any]) -> None:
    endpoint, config, _logs = world
    result = run(endpoint, config, "tmp-imagez")
    assert result.exit_code == 2
    assert "no function 'tmp-imagez' in eu-west-1; there are: tmp-images (purge)" in result.stderr
    assert "old-logs (purge); families: purge" in result.stderr
    assert result.stdout == ""


def test_a_function_that_never_ran_is_a_warning_not_an_error(
    moto_endpoint: str, tmp_path: Path
) -> None:
    config = tmp_path / "ops.toml"
    config.write_text(two_jobs("never-ran"))
    result = run(moto_endpoint, config, "--all")
    assert result.exit_code == 0
    assert "never-ran-purge-tmp-images has no log group" in result.stderr
    assert result.stdout == ""


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError(f"no line within {timeout}s")
    return proc.stdout.readline()


def test_follow_prints_new_lines_once_and_ctrl_c_exits_0(world: tuple[str, Path, Any]) -> None:
    endpoint, config, logs = world
    now = int(time.time() * 1000)
    put(logs, TMP, (now - 5_000, "before"))
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    argv = [sys.executable, "-m", "ops", "logs", "--all", "--follow", "--config", str(config)]
    argv += ["--region", REGION, "--endpoint-url", endpoint]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert _read_line(proc, 20).rstrip().endswith("purge-tmp-images  before")
        put(logs, OLD, (int(time.time() * 1000), "after"))
        assert _read_line(proc, 20).rstrip().endswith("purge-old-logs  after")
        time.sleep(2.5)  # another poll: it sees both lines again and prints neither
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the two lines: no duplicate, no "Aborted!"
    assert "Traceback" not in err and "Aborted" not in err
