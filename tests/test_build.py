"""`ops build`: a [[function]]'s zip with its requirements installed for Lambda's platform, the
same bytes from the same input on any machine, cached, and uploaded by `ops apply` only once.

No network: pip reads wheels made here (tests/wheels.py) with PIP_NO_INDEX and PIP_FIND_LINKS.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from ops.build import build, zip_for_key
from ops.cli import cli
from ops.config import load_config
from ops.deploy.bootstrap import ArtifactBucket, upload_code
from ops.errors import ConfigError
from ops.render import render
from tests.wheels import make_wheel

CONFIG = """[stack]
name = "apps"

[[function]]
name = "loader"
code = "src"
handler = "app.handler"
requirements = "requirements.txt"
architecture = "{arch}"
runtime = "python3.13"
"""
NATIVE_TAG = "cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64"


@pytest.fixture
def wheels(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    make_wheel(folder, "puredep", "1.0", "py3-none-any", {"puredep/__init__.py": "X = 1\n"})
    make_wheel(folder, "nativedep", "2.0", NATIVE_TAG, {"nativedep/__init__.py": "Y = 2\n"})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def project(
    root: Path, requirements: str = "puredep==1.0\nnativedep==2.0\n", arch: str = "arm64"
) -> Path:
    """A config with one function at `root` (a machine of its own: its own cache)."""
    (root / "src" / "lib").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import puredep\n\ndef handler(e, c):\n    return 1\n")
    (root / "src" / "lib" / "util.py").write_text("Z = 3\n")
    (root / "src" / "__pycache__").mkdir()
    (root / "src" / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"\0stale")
    (root / "requirements.txt").write_text(requirements)
    (root / "ops.toml").write_text(CONFIG.format(arch=arch))
    return root / "ops.toml"


def names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def test_two_machines_build_byte_identical_zips(wheels, tmp_path, monkeypatch) -> None:
    zips = []
    for machine, umask in (("one", 0o022), ("two", 0o077)):
        old = os.umask(umask)
        try:
            path = project(tmp_path / machine)
        finally:
            os.umask(old)
        os.utime(path.parent / "src" / "app.py", (1_000_000 + len(machine), 1_000_000))
        monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / machine / "cache"))
        built = build(load_config(path), load_config(path).function[0])
        assert not built.cached
        zips.append((built.key, built.path.read_bytes()))
    assert zips[0] == zips[1]
    listed = names(zips[0][1])
    assert listed == sorted(listed)
    assert "app.py" in listed and "lib/util.py" in listed and "ops_config.py" in listed
    assert "puredep/__init__.py" in listed and "nativedep/__init__.py" in listed
    assert "puredep-1.0.dist-info/METADATA" in listed
    dropped = [n for n in listed if n.startswith("bin/") or n.endswith(("RECORD", ".pyc"))]
    assert dropped == []  # console scripts carry this machine's python; RECORD lists them
    with zipfile.ZipFile(io.BytesIO(zips[0][1])) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_an_unchanged_build_comes_from_the_cache_without_pip(wheels, tmp_path, monkeypatch) -> None:
    path = project(tmp_path)
    monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / "cache"))
    config = load_config(path)
    first = build(config, config.function[0])

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran for an unchanged input")

    monkeypatch.setattr(subprocess, "run", no_pip)
    again = build(config, config.function[0])
    assert again.cached and again.key == first.key
    assert again.path.read_bytes() == first.path.read_bytes()


def test_the_rendered_key_is_the_build_key(wheels, tmp_path, monkeypatch) -> None:
    path = project(tmp_path)
    monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / "cache"))
    config = load_config(path)
    template = json.loads(render(config))
    key = template["Resources"]["FnLoaderFunction"]["Properties"]["Code"]["S3Key"]
    assert key == build(config, config.function[0]).key
    assert template["Resources"]["FnLoaderFunction"]["Properties"]["Architectures"] == ["arm64"]


def test_a_dependency_without_a_wheel_for_the_platform_is_named(
    wheels, tmp_path, monkeypatch
) -> None:
    path = project(tmp_path, arch="x86_64")  # nativedep has an aarch64 wheel only
    monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / "cache"))
    config = load_config(path)
    with pytest.raises(ConfigError) as caught:
        build(config, config.function[0])
    [problem] = caught.value.problems
    assert problem.path == "function[0].requirements"
    assert problem.message.startswith("nativedep==2.0 has no wheel for Lambda python3.13 on x86_64")
    assert not (tmp_path / "cache" / "user").exists() or not any(
        (tmp_path / "cache").rglob("*.zip")
    )


def test_a_requirements_file_with_no_packages_builds_the_code_alone(
    wheels, tmp_path, monkeypatch
) -> None:
    path = project(tmp_path, requirements="# nothing yet\n")
    monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / "cache"))
    config = load_config(path)
    data = build(config, config.function[0]).path.read_bytes()
    assert names(data) == ["app.py", "lib/util.py", "ops_config.py"]


def test_ops_build_prints_a_line_per_function(wheels, tmp_path, monkeypatch) -> None:
    path = project(tmp_path)
    monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    first = runner.invoke(cli, ["build", "--config", str(path)])
    assert first.exit_code == 0, first.output
    line = json.loads(first.stdout)
    assert (line["function"], line["cached"]) == ("loader", False)
    assert line["key"].startswith("user/loader/") and line["bytes"] > 0
    again = json.loads(runner.invoke(cli, ["build", "--config", str(path)]).stdout)
    assert again["cached"] and again["key"] == line["key"]
    unknown = runner.invoke(cli, ["build", "nope", "--config", str(path)])
    assert unknown.exit_code == 2 and "no [[function]] nope" in unknown.output


@mock_aws
def test_apply_uploads_the_build_once(wheels, tmp_path, monkeypatch) -> None:
    path = project(tmp_path)
    monkeypatch.setenv("OPS_BUILD_CACHE", str(tmp_path / "cache"))
    config = load_config(path)
    key = json.loads(render(config))["Resources"]["FnLoaderFunction"]["Properties"]["Code"]["S3Key"]
    s3 = boto3.client("s3", region_name="eu-west-1")
    bucket = ArtifactBucket(s3, "apps-artifacts", "123456789012", "eu-west-1")
    s3.create_bucket(
        Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )

    class Quiet:
        def line(self, text: str) -> None:
            pass

    shutil.rmtree(tmp_path / "cache", ignore_errors=True)  # apply builds what is not cached
    assert upload_code(bucket, [key], Quiet()) == [key]  # type: ignore[arg-type]
    stored = s3.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    assert stored == zip_for_key(key)
    assert upload_code(bucket, [key], Quiet()) == []  # type: ignore[arg-type]
    assert build(config, config.function[0]).path.read_bytes() == stored  # what ops push ships
