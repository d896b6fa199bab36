"""Shared fixtures: fake credentials and a fixed region, so no test can reach real AWS."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.aws import AwsTarget
from tests.moto_server import moto_server

ROOT = Path(__file__).resolve().parent.parent
EVENTS = Path(__file__).resolve().parent / "events"
REGION = "eu-west-1"


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where [[function]] builds go during tests (never the user's ~/.cache)."""
    return tmp_path_factory.mktemp("build-cache")


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, build_cache: Path) -> None:
    monkeypatch.setenv("OPS_BUILD_CACHE", str(build_cache))
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "OPS_CONFIG", "OPS_JOB"):
        monkeypatch.delenv(key, raising=False)
    from functions.runtime import aws

    aws.reset()


def load_event(name: str) -> Any:
    """A sample event from tests/events/."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write TOML text to a file and return its path."""

    def write(text: str, name: str = "ops.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto server on 127.0.0.1, one per test module that asks for it (moto's state
    lives in the process, so a server per test would not isolate tests any better)."""
    with moto_server() as url:
        yield url


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every AWS operation the CLI makes, counted through its one client factory."""
    counted: Counter[str] = Counter()
    original = AwsTarget.client

    def client(self: AwsTarget, service: str, **config: Any) -> Any:
        made = original(self, service, **config)
        made.meta.events.register("before-call", lambda model, **_: counted.update([model.name]))
        return made

    monkeypatch.setattr(AwsTarget, "client", client)
    return counted
