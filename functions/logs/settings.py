"""A log processor's settings as a typed view, one per action that runs a function:
`ReportMetricsSettings` (lambda-report-metrics) and `PatternAlertSettings` (pattern-alert).

`templates/jobs.py::log_processor_job` renders the same keys from the model into `$OPS_JOB`;
`tests/test_job_views.py` renders every example processor and reads it back through its view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.runtime.view import JobView, kind


@dataclass(frozen=True, kw_only=True)
class LogProcessorSettings(JobView):
    """What every log processor reads (ops/models/log_processor.py::FunctionProcessor)."""

    name: str
    action: str
    # Only a processor with prefixes lists its groups: its account-level policy delivers every
    # group of the account, and the function keeps these (names, or prefixes ending in `*`).
    log_groups: tuple[str, ...] | None = None

    def selected(self, log_group: str) -> bool:
        """Whether the processor wants this group (every group when it lists none)."""
        if not self.log_groups:
            return True
        names = {g for g in self.log_groups if not g.endswith("*")}
        prefixes = tuple(g[:-1] for g in self.log_groups if g.endswith("*"))
        return log_group in names or log_group.startswith(prefixes)


@dataclass(frozen=True, kw_only=True)
class ReportMetricsSettings(LogProcessorSettings):
    """lambda-report-metrics (ops/models/log_processor.py::ReportMetrics)."""

    namespace: str = "ops/Lambda"


@dataclass(frozen=True, kw_only=True)
class PatternAlertSettings(LogProcessorSettings):
    """pattern-alert (ops/models/log_processor.py::PatternAlert): SNS `topic`, else webhook."""

    pattern: str | None = None  # a regular expression the message must match
    topic: str | None = None
    webhook_secret: str | None = None
    webhook_format: str = "slack"
    rate_limit: int = 300  # seconds: the window `max_messages` applies to
    max_messages: int = 1
    sample_lines: int = 5


VIEWS: dict[str, type[LogProcessorSettings]] = {
    "lambda-report-metrics": ReportMetricsSettings,
    "pattern-alert": PatternAlertSettings,
}


def settings_of(job: Mapping[str, Any]) -> LogProcessorSettings:
    """The processor's typed view, chosen by its action; ValueError for an action with none."""
    action = kind(job, "action")
    if action not in VIEWS:
        raise ValueError(f"unknown log processor action {action!r} in $OPS_JOB")
    return VIEWS[action].from_job(job)
