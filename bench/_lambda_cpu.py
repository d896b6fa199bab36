"""Run a process in the CPU share Lambda gives a function of a given memory size.

Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU, so 512 MB is 512/1769
(about 29%) of a core. `cpu_share(pid, memory_mb)` holds a process to that share:

- with a cgroup, where this machine lets us make one: cgroup v2 `cpu.max`, or cgroup v1
  `cpu.cfs_quota_us` / `cpu.cfs_period_us` (the CFS bandwidth limit Lambda's own sandbox uses);
- otherwise with a duty-cycle throttle: every 100 ms period the process runs until it has used
  its share of the period in CPU time (read from /proc/PID/stat), then is stopped (SIGSTOP) until
  the period ends (SIGCONT). Coarser (the kernel counts CPU time in 10 ms ticks) but the same
  average share.

Either way the share is an upper bound: on a busy machine the process may get less, so the
benchmark reports the CPU time it did use beside the wall time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

FULL_CORE_MB = 1769  # Lambda: one vCPU at 1,769 MB
PERIOD_US = 100_000
CGROUP_V2 = Path("/sys/fs/cgroup")
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")


def share_of(memory_mb: int) -> float:
    return min(memory_mb / FULL_CORE_MB, float(os.cpu_count() or 1))


@contextlib.contextmanager
def cpu_share(pid: int, memory_mb: int) -> Iterator[str]:
    """Hold `pid` (and its threads) to Lambda's CPU share at `memory_mb`; yields how."""
    share = share_of(memory_mb)
    group = _cgroup(pid, share)
    if group is not None:
        try:
            yield f"cgroup {group}"
        finally:
            _remove(group)
        return
    throttle = DutyCycle(pid, share)
    throttle.start()
    try:
        yield "duty-cycle throttle (SIGSTOP/SIGCONT, 100 ms periods)"
    finally:
        throttle.stop()


def _cgroup(pid: int, share: float) -> Path | None:
    quota = int(share * PERIOD_US)
    name = f"ops-bench-{os.getpid()}-{pid}"
    for root, marker, files in (
        (CGROUP_V2, "cgroup.subtree_control", {"cpu.max": f"{quota} {PERIOD_US}"}),
        (
            CGROUP_V1,
            "cpu.cfs_quota_us",
            {"cpu.cfs_period_us": str(PERIOD_US), "cpu.cfs_quota_us": str(quota)},
        ),
    ):
        if not (root / marker).exists():
            continue
        if marker == "cgroup.subtree_control":  # v2: the cpu controller must reach children
            with contextlib.suppress(OSError):
                (root / marker).write_text("+cpu")
        group = root / name
        try:
            group.mkdir()
            for file, value in files.items():
                (group / file).write_text(value)
            (group / "cgroup.procs").write_text(str(pid))
            return group
        except OSError:
            _remove(group)
    return None


def _remove(group: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():  # leftovers go back to the root
            (group.parent / "cgroup.procs").write_text(pid)
    with contextlib.suppress(OSError):
        group.rmdir()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DutyCycle(threading.Thread):
    """Let `pid` use `share` of each period's wall time in CPU, then stop it until the next."""

    def __init__(self, pid: int, share: float, period: float = PERIOD_US / 1e6) -> None:
        super().__init__(daemon=True)
        self.pid, self.share, self.period = pid, share, period
        self._done = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            while not self._done.is_set():
                start, used = time.monotonic(), cpu_seconds(self.pid)
                os.kill(self.pid, signal.SIGCONT)
                while time.monotonic() - start < self.period and not self._done.is_set():
                    if cpu_seconds(self.pid) - used >= self.share * self.period:
                        os.kill(self.pid, signal.SIGSTOP)
                        break
                    time.sleep(0.002)
                time.sleep(max(0.0, self.period - (time.monotonic() - start)))

    def stop(self) -> None:
        self._done.set()
        self.join()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)
