"""checkov over the render of the bundled ops.toml and every example: a new finding fails CI.

Every finding is either fixed in the template or skipped in the resource's `Metadata.checkov`
with a written reason (templates/common.py `checkov_skips`); a skip without a reason fails too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ops.config import load_config
from ops.models.deployer import replica_regions
from ops.render import render
from tests.conftest import ROOT
from tests.test_render import EXAMPLES

CHECKOV = shutil.which("checkov") or str(Path(sys.executable).with_name("checkov"))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """One checkov run over every rendered example, each replica region's stack and the bundled
    example's stack set template included (checkov starts slowly: once, not per file)."""
    folder = tmp_path_factory.mktemp("rendered")
    for path in EXAMPLES:
        config = load_config(path)
        stem = "-".join(path.relative_to(ROOT).with_suffix("").parts)  # examples/x/ops.toml too
        (folder / f"{stem}.json").write_text(render(config))
        for region in replica_regions(config):
            (folder / f"{stem}-{region}.json").write_text(render(config, region=region))
    # The one template `ops apply --org` gives every stack set instance (docs/org.md).
    bundled = load_config(ROOT / "ops.toml")
    (folder / "ops-stack-set.json").write_text(render(bundled, stack_set=True))
    run = subprocess.run(
        [CHECKOV, "-d", str(folder), "--framework", "cloudformation", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]  # 1: findings, reported below
    answer = json.loads(run.stdout)
    return answer if isinstance(answer, list) else [answer]


def test_checkov_finds_nothing_unexplained_in_any_rendered_example(scanned) -> None:
    failed = [
        f"{Path(c['file_path']).name}: {c['resource']} {c['check_id']} {c['check_name']}"
        for report in scanned
        for c in report["results"].get("failed_checks", [])
    ]
    assert failed == []


def test_every_checkov_skip_says_why(scanned) -> None:
    skipped = [c for report in scanned for c in report["results"].get("skipped_checks", [])]
    assert skipped, "the examples render functions, whose skips must show up here"
    unexplained = [
        f"{c['resource']} {c['check_id']}"
        for c in skipped
        if len(c.get("check_result", {}).get("suppress_comment", "")) < 20
    ]
    assert unexplained == []
