"""The bundled ops.toml renders byte for byte to tests/golden/ops.json.

After an intended change to what renders: `OPS_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then
read the diff of the golden file before committing it.
"""

from __future__ import annotations

import os

from ops.config import load_config
from ops.render import render
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "ops.json"


def test_bundled_config_matches_golden_file() -> None:
    rendered = render(load_config(ROOT / "ops.toml"))
    if os.environ.get("OPS_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text(), "rendered template changed: see the module docstring"
