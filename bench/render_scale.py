"""`ops render` at scale: configs of 1, 10, 50 and 200 S3 purge jobs, in one run.

    python bench/render_scale.py [--jobs 1,10,50,200] [--runs 3]

For each size: the resources the template holds (or would hold, when CloudFormation's 500
resources / 1 MB per template refuse it: then the one `Error:` line `ops render` gives), its size
in bytes, the in-process render time (config load, build and serialisation; median of --runs
after one warm-up) and the whole-process time of `python -m ops.cli render` (median of --runs).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _moto import table

from ops.config import load_config
from ops.errors import ConfigError
from ops.render import build_template, render
from tests.configs import many_jobs

ROOT = Path(__file__).resolve().parent.parent


def in_process(path: Path, runs: int) -> tuple[float, str, int]:
    """Median seconds of load + render, the outcome, and the template's bytes (0 if refused)."""
    times, outcome, size = [], "", 0
    for attempt in range(runs + 1):
        start = time.perf_counter()
        try:
            text = render(load_config(path))
            outcome, size = "rendered", len(text.encode())
        except ConfigError as exc:
            outcome = f"Error: {exc.message}"
        if attempt:  # the first run is the warm-up (imports, bundle zips)
            times.append(time.perf_counter() - start)
    return statistics.median(times), outcome, size


def whole_process(path: Path, runs: int, expect: int) -> float:
    cmd = [sys.executable, "-m", "ops.cli", "render", "--config", str(path)]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != expect:
            sys.exit(f"ops render exited {done.returncode}: {done.stderr.decode()[-1000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,10,50,200")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = [["jobs", "resources", "bytes", "in-process s", "whole-process s", "outcome"]]
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(n) for n in args.jobs.split(",")):
            path = Path(tmp) / f"jobs-{count}.toml"
            path.write_text(many_jobs(count))
            resources = len(build_template(load_config(path)).resources)
            seconds, outcome, size = in_process(path, args.runs)
            refused = outcome.startswith("Error")
            process = whole_process(path, args.runs, expect=2 if refused else 0)
            if refused:
                errors.append(f"{count} jobs: {outcome}")
            rows.append(
                [
                    str(count),
                    str(resources),
                    f"{size:,}" if size else "-",
                    f"{seconds:.3f}",
                    f"{process:.3f}",
                    "refused (exit 2)" if refused else outcome,
                ]
            )
    print(f"ops render of N S3 purge jobs (medians of {args.runs})\n")
    print(table(rows))
    for line in errors:
        print(f"\n{line}")


if __name__ == "__main__":
    main()
