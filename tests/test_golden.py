"""The bundled ops.toml renders byte for byte to tests/golden/ops.json.

After an intended change to what renders: `OPS_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then
read the diff of the golden file before committing it.

The code keys (`functions/<bundle>/<sha256>.zip`) are compared with their hash masked: an edit of
function code changes them by design, and test_package checks that they are content hashes.
"""

from __future__ import annotations

import os
import re

from ops.config import load_config
from ops.render import render
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "ops.json"
CODE_KEY = re.compile(r"(functions/[a-z_]+/)[0-9a-f]{64}(\.zip)")


def masked(template: str) -> str:
    return CODE_KEY.sub(r"\1<sha256>\2", template)


def test_bundled_config_matches_golden_file() -> None:
    rendered = render(load_config(ROOT / "ops.toml"))
    if os.environ.get("OPS_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered)
    assert CODE_KEY.search(rendered), "the code keys moved: update CODE_KEY"
    expected = masked(GOLDEN.read_text())
    assert masked(rendered) == expected, "rendered template changed: see the module docstring"
