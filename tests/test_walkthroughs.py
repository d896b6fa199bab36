"""The README's and docs' moto walkthroughs, run as written (a user copies them line by line):
each `sh` block against a fresh moto server, in a shell, from the repository root, and none
leaves a file behind in the checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

WRITTEN_PORT = "http://127.0.0.1:5000"
SERVER_LINE = re.compile(r"^\s*(moto_server -p 5000|python -m tests\.moto_server 5000) &")
IGNORED = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
}


def block(doc: str, heading: str) -> str:
    """The first ```sh block after `heading` in `doc`."""
    text = (ROOT / doc).read_text()
    after = text[text.index(heading) :]
    found = re.search(r"```sh\n(.*?)```", after, re.S)
    assert found, f"{doc}: no sh block after {heading!r}"
    return found.group(1)


def files() -> set[str]:
    found = set()
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in IGNORED and not d.endswith(".egg-info")]
        found.update(
            str(Path(folder, n).relative_to(ROOT)) for n in names if not n.endswith(".pyc")
        )
    return found


def run(script: str, endpoint: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The block as a bash script on `endpoint` (the server it starts is this test's)."""
    lines = [ln for ln in script.splitlines() if not SERVER_LINE.match(ln)]
    body = "\n".join(lines).replace(WRITTEN_PORT, endpoint)
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def fresh(moto_endpoint: str) -> str:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    return moto_endpoint


@pytest.mark.parametrize(
    ("doc", "heading", "says"),
    [
        ("README.md", "## Try `ops apply` against a local moto server", "acme-ops in eu-west-1"),
        ("README.md", "## Trying functions locally", '"status": "finished"'),
        ("docs/deployer.md", "## Trying it locally", "deployed acme-ops-deployer-deployer (prod)"),
    ],
)
def test_the_walkthrough_runs_as_written(
    fresh: str, tmp_path: Path, doc: str, heading: str, says: str
) -> None:
    before = files()
    result = run(block(doc, heading), fresh, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert says in result.stdout + result.stderr
    assert files() - before == set(), "the walkthrough left files in the checkout"
