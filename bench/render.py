"""`ops render` of the bundled ops.toml against `chalice package` of a one-function scheduled
chalice app: whole-process wall time, N runs each, medians, in one run; beside it ops's
in-process figure (config load + render, after a warm-up), which leaves out what a whole process
spends starting the interpreter and importing.

    python bench/render.py [--runs 5]

Chalice is not a dependency of ops: install it in its own virtual environment, e.g.
    python -m venv /tmp/chalice-venv && /tmp/chalice-venv/bin/pip install chalice
and point $CHALICE at /tmp/chalice-venv/bin/chalice (or put it on PATH).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _moto import table

ROOT = Path(__file__).resolve().parent.parent
APP = """from chalice import Chalice, Rate

app = Chalice(app_name="purge")


@app.schedule(Rate(1, unit=Rate.HOURS))
def purge(event):
    return {"deleted": 0}
"""
# chalice package needs a region (it names the runtime's ARNs); nothing is called.
ENV = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
CONFIG = '{"version": "2.0", "app_name": "purge", "stages": {"dev": {"api_gateway_stage": "api"}}}'


def find_chalice() -> str | None:
    for candidate in (
        os.environ.get("CHALICE"),
        shutil.which("chalice"),
        "/tmp/chalice-venv/bin/chalice",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def chalice_project(tmp: Path) -> Path:
    project = tmp / "purge"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(APP)
    (project / "requirements.txt").write_text("")
    (project / ".chalice" / "config.json").write_text(CONFIG)
    return project


def median_seconds(cmd: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, env=ENV)
        if done.returncode:
            sys.exit(f"{cmd[0]} failed: {done.stderr.decode()[-1000:]}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_process_seconds(config: Path, runs: int) -> float:
    """Median seconds of `load_config` + `render` in this process, after one warm-up run."""
    sys.path.insert(0, str(ROOT))
    from ops.config import load_config
    from ops.render import render

    render(load_config(config))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render(load_config(config))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    chalice = find_chalice()
    if chalice is None:
        sys.exit(
            "chalice not found: python -m venv /tmp/chalice-venv && "
            "/tmp/chalice-venv/bin/pip install chalice (then CHALICE=/tmp/chalice-venv/bin/chalice)"
        )
    ops = [sys.executable, "-m", "ops.cli", "render", "--config", str(ROOT / "ops.toml")]
    with tempfile.TemporaryDirectory() as tmp:
        project = chalice_project(Path(tmp))
        out = Path(tmp) / "out"
        ops_s = median_seconds(ops, ROOT, args.runs)
        inside_s = in_process_seconds(ROOT / "ops.toml", args.runs)
        chalice_s = median_seconds([chalice, "package", str(out)], project, args.runs)
    rows = [
        ["command", f"median of {args.runs} (s)"],
        ["ops render (bundled ops.toml)", f"{ops_s:.3f}"],
        ["  of which load + render in-process", f"{inside_s:.3f}"],
        ["chalice package (one scheduled function)", f"{chalice_s:.3f}"],
    ]
    print(table(rows))
    print(f"\nops render takes {ops_s / chalice_s:.0%} of chalice package's time")
    print(f"start-up and imports: {ops_s - inside_s:.3f} s of ops render's {ops_s:.3f} s")


if __name__ == "__main__":
    main()
