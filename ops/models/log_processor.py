"""`[[log_processor]]`: CloudWatch Logs subscriptions that turn log lines into metrics and alerts.

One model per `action`: `lambda-report-metrics` and `pattern-alert` run a function subscribed to
the log groups; `metric-filter` renders a native metric filter and no function at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ops.models.common import (
    FunctionSettings,
    StackConfig,
    WebhookFormat,
    check_secret,
    check_sns_arn,
    kms_key_setting,
    memory_setting,
    timeout_setting,
    webhook_format_setting,
)
from ops.naming import function_name
from ops.schema import Duration, ProblemSink, check_name, check_range, setting

FAMILY = "logs"  # function names: <stack>-logs-<name>
MAX_SUBSCRIPTION_FILTERS = 2  # per log group, a CloudWatch Logs quota

# CloudWatch Logs: log group names are 1-512 characters of [.-_/#A-Za-z0-9].
_LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
MAX_FILTER_PATTERN = 1024
# Text REPORT lines, Lambda's "Task timed out" lines and JSON `platform.report` records.
REPORT_FILTER = '?REPORT ?"Task timed out" ?"platform.report"'


def check_log_groups(value: tuple[str, ...]) -> str | None:
    if not value:
        return "expected at least one log group name or prefix ending in *"
    for name in value:
        stem = name[:-1] if name.endswith("*") else name
        if not stem or not _LOG_GROUP.match(stem):
            return (
                "expected log group names (letters, digits and . - _ / #, up to 512 "
                f"characters) or prefixes ending in *, got {name!r}"
            )
    if len(set(value)) != len(value):
        return "expected each log group once"
    return None


def check_filter_pattern(value: str) -> str | None:
    if len(value) > MAX_FILTER_PATTERN:
        return f"expected a filter pattern of at most {MAX_FILTER_PATTERN} characters"
    return None


def check_regex(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as exc:
        return f"expected a Python regular expression: {exc}"
    return None


def check_metric_name(value: str) -> str | None:
    if not 1 <= len(value) <= 255 or ":" in value:
        return f"expected a CloudWatch metric name (1-255 characters, no ':'), got {value!r}"
    return None


def is_prefix(log_group: str) -> bool:
    return log_group.endswith("*")


@dataclass(frozen=True, kw_only=True)
class LogProcessor:
    """Keys every action takes."""

    name: str = setting(check=check_name, doc="unique among log processors")
    action: str = setting(doc="lambda-report-metrics, pattern-alert or metric-filter")
    log_groups: tuple[str, ...] = setting(
        check=check_log_groups, doc="log group names, or prefixes ending in *"
    )
    filter_pattern: str = setting(
        "", check=check_filter_pattern, doc="CloudWatch Logs filter pattern ('' matches all)"
    )

    @property
    def names(self) -> tuple[str, ...]:
        """The exact log group names (prefixes excluded)."""
        return tuple(g for g in self.log_groups if not is_prefix(g))

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The prefixes, without their trailing `*`."""
        return tuple(g[:-1] for g in self.log_groups if is_prefix(g))


@dataclass(frozen=True, kw_only=True)
class FunctionProcessor(FunctionSettings, LogProcessor):
    """Keys of the actions that run a function."""

    memory: int = memory_setting(512)  # more memory is more CPU: decoding is CPU-bound
    timeout: int = timeout_setting(60)
    concurrency: int = setting(
        5, check=check_range(1, 1000), doc="reserved concurrency: at most this many at once"
    )


@dataclass(frozen=True, kw_only=True)
class ReportMetrics(FunctionProcessor):
    """Turn Lambda REPORT lines into per-function duration, memory and cold-start metrics."""

    action: Literal["lambda-report-metrics"] = setting(doc="what to do with matching lines")
    filter_pattern: str = setting(
        REPORT_FILTER, check=check_filter_pattern, doc="which lines reach the function"
    )
    namespace: str = setting("ops/Lambda", check=check_metric_name, doc="CloudWatch namespace")


@dataclass(frozen=True, kw_only=True)
class PatternAlert(FunctionProcessor):
    """Send matching lines to SNS or a webhook, a flood rate-limited into one message."""

    action: Literal["pattern-alert"] = setting(doc="what to do with matching lines")
    pattern: str | None = setting(None, check=check_regex, doc="regex the message must match")
    topic: str | None = setting(None, check=check_sns_arn, doc="SNS topic ARN to publish to")
    webhook_secret: str | None = setting(
        None, check=check_secret, doc="Secrets Manager secret holding the webhook URL"
    )
    webhook_format: WebhookFormat = webhook_format_setting()
    kms_key: str | None = kms_key_setting("its topic or webhook secret")
    rate_limit: Duration = setting(Duration(300), doc="at most `max_messages` per this window")
    max_messages: int = setting(1, check=check_range(1, 100), doc="messages per window")
    sample_lines: int = setting(5, check=check_range(1, 50), doc="lines quoted per message")


@dataclass(frozen=True, kw_only=True)
class MetricFilter(LogProcessor):
    """A native CloudWatch Logs metric filter (and an optional alarm): no function."""

    action: Literal["metric-filter"] = setting(doc="what to do with matching lines")
    metric_name: str = setting(check=check_metric_name, doc="metric to count matches in")
    namespace: str = setting("ops/Logs", check=check_metric_name, doc="CloudWatch namespace")
    alarm_threshold: int | None = setting(
        None, check=check_range(1, 10**9), doc="alarm when matches per period reach this"
    )
    alarm_period: Duration = setting(Duration(300), doc="alarm period: 1m, 5m, 1h…")


LOG_PROCESSOR_ACTIONS: dict[str, type[LogProcessor]] = {
    "lambda-report-metrics": ReportMetrics,
    "pattern-alert": PatternAlert,
    "metric-filter": MetricFilter,
}


def check_log_processors(
    processors: tuple[LogProcessor, ...], stack: StackConfig, sink: ProblemSink
) -> None:
    """Checks across items: own log group, filters per group, one account policy, sinks."""
    for index, item in enumerate(processors):
        _check_item(stack, sink, index, item)
    _check_filters_per_group(sink, processors)
    wildcard = [i for i, p in enumerate(processors) if _subscribes(p) and p.prefixes]
    for index in wildcard[1:]:
        sink.problem(
            f"log_processor[{index}].log_groups",
            "only one processor may use prefixes ending in * (they render the account's one "
            f"subscription filter policy, already used by log_processor[{wildcard[0]}])",
        )


def _subscribes(item: LogProcessor) -> bool:
    return isinstance(item, FunctionProcessor)


def _check_item(stack: StackConfig, sink: ProblemSink, index: int, item: LogProcessor) -> None:
    path = f"log_processor[{index}]"
    if isinstance(item, FunctionProcessor):
        own = f"/aws/lambda/{function_name(stack.name, FAMILY, item.name)}"
        if own in item.names:
            sink.problem(
                f"{path}.log_groups",
                f"{own!r} is this processor's own log group: it would process its own output "
                "in a loop; remove it",
            )
    if isinstance(item, PatternAlert) and (item.topic is None) == (item.webhook_secret is None):
        sink.problem(path, "expected exactly one of `topic` or `webhook_secret`")
    if isinstance(item, PatternAlert) and item.webhook_format != "slack" and item.topic:
        sink.problem(f"{path}.webhook_format", "only a webhook_secret is posted in it")
    if isinstance(item, MetricFilter):
        if item.prefixes:
            sink.problem(
                f"{path}.log_groups",
                "a metric filter belongs to one log group: name each (no prefixes ending in *)",
            )
        if item.alarm_period not in (10, 30) and item.alarm_period % 60:
            sink.problem(f"{path}.alarm_period", "expected 10s, 30s or whole minutes")


def _check_filters_per_group(sink: ProblemSink, processors: tuple[LogProcessor, ...]) -> None:
    """CloudWatch Logs allows two subscription filters per log group."""
    users: dict[str, list[int]] = {}
    for index, item in enumerate(processors):
        if _subscribes(item):
            for name in item.names:
                users.setdefault(name, []).append(index)
    for index, item in enumerate(processors):
        # The account policy of a prefix processor is one more filter on each group it covers.
        if _subscribes(item):
            for name in users:
                if index not in users[name] and name.startswith(item.prefixes or ("\0",)):
                    users[name].append(index)
    for name, indexes in sorted(users.items()):
        if len(indexes) > MAX_SUBSCRIPTION_FILTERS:
            where = ", ".join(f"log_processor[{i}]" for i in sorted(indexes))
            sink.problem(
                f"log_processor[{max(indexes)}].log_groups",
                f"{name!r} would get {len(indexes)} subscription filters ({where}); "
                f"CloudWatch Logs allows {MAX_SUBSCRIPTION_FILTERS} per log group",
            )
