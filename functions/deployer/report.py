"""What one invocation of the deployer did, record by record."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["deployed", "skipped", "rejected", "failed"]


@dataclass
class Outcome:
    """One record: deployed (old -> new version), skipped (why), rejected or failed (why)."""

    status: Status
    key: str = ""
    version_id: str = ""
    function: str = ""
    stage: str = ""
    reason: str = ""
    old_version: str = ""
    new_version: str = ""
    code_sha256: str = ""
    region: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v != ""}

    def line(self) -> str:
        what = f"{self.function or self.key} ({self.stage or '?'})"
        if self.status == "deployed":
            return f"deployed {what}: version {self.old_version or 'none'} -> {self.new_version}"
        return f"{self.status} {what}: {self.reason}"


@dataclass
class DeployReport:
    region: str
    outcomes: list[Outcome] = field(default_factory=list)
    api_calls: Counter[str] = field(default_factory=Counter)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> bool:
        return self.count("failed") > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "records": [o.as_dict() for o in self.outcomes],
            "deployed": self.count("deployed"),
            "skipped": self.count("skipped"),
            "rejected": self.count("rejected"),
            "failed": self.count("failed"),
            "api_calls": dict(sorted(self.api_calls.items())),
        }

    def metrics(self) -> dict[str, float]:
        return {
            s.capitalize(): self.count(s) for s in ("deployed", "skipped", "rejected", "failed")
        }
