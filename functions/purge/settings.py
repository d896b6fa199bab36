"""A purge job's settings as a typed view: the keys every target takes (`PurgeSettings`) and the
paced targets' rate (`PacedSettings`). Each target module declares its own view as `Settings`
(`functions/purge/s3.py::S3Settings`, ...), so adding a target still touches its module alone.

`templates/jobs.py::purge_job` renders the same keys from the model into `$OPS_JOB`;
`tests/test_job_views.py` renders every example job and reads it back through its view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from functions.purge.report import DeleteGuard
from functions.runtime.view import JobView, check, positive

DEFAULT_RATE = 5.0  # requests/s through an account-wide control plane


@dataclass(frozen=True, kw_only=True)
class PurgeSettings(JobView):
    """What every purge target reads (ops/models/purge.py::PurgeJob, minus the function's own)."""

    name: str
    target: str
    older_than: int = field(metadata=check(positive))  # seconds
    dry_run: bool = False
    max_deletes: int | None = None  # rendered as null for "no limit"
    max_delete_percent: float | None = None
    on_timeout: Literal["next-schedule", "continue"] = "next-schedule"
    max_hops: int = 10

    @property
    def age(self) -> timedelta:
        """`older_than` as a duration: a run deletes what is older than its clock minus this."""
        return timedelta(seconds=self.older_than)

    @property
    def guard(self) -> DeleteGuard:
        return DeleteGuard(self.max_deletes, self.max_delete_percent)


@dataclass(frozen=True, kw_only=True)
class PacedSettings(PurgeSettings):
    """A target that deletes one item per call, held to `max_rate` requests per second."""

    max_rate: float = DEFAULT_RATE
