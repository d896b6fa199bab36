"""CloudWatch metrics in Embedded Metric Format: a JSON line on stdout, no PutMetricData call.

EMF limits honoured here: at most 100 metrics per directive, 100 values per metric per line, 30
dimensions. See https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

NAMESPACE = "ops"
MAX_METRICS = 100
MAX_VALUES = 100
MAX_DIMENSIONS = 30


def emf_lines(
    metrics: Mapping[str, Sequence[float] | float],
    dimensions: Mapping[str, str],
    *,
    unit: Mapping[str, str] | None = None,
    namespace: str = NAMESPACE,
    timestamp_ms: int | None = None,
) -> Iterator[dict[str, Any]]:
    """EMF documents for `metrics` (name -> value or values), split within EMF's limits."""
    if len(dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"EMF allows {MAX_DIMENSIONS} dimensions, got {len(dimensions)}")
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    values = {k: list(v) if isinstance(v, Sequence) else [v] for k, v in metrics.items()}
    names = sorted(k for k, v in values.items() if v)
    for start in range(0, len(names), MAX_METRICS):
        group = names[start : start + MAX_METRICS]
        rounds = max(len(values[n]) for n in group)
        for offset in range(0, rounds, MAX_VALUES):
            chunk = {n: values[n][offset : offset + MAX_VALUES] for n in group}
            chunk = {n: v for n, v in chunk.items() if v}
            yield _document(chunk, dimensions, unit or {}, namespace, stamp)


def emit(
    metrics: Mapping[str, Sequence[float] | float],
    dimensions: Mapping[str, str],
    *,
    unit: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> None:
    out = stream or sys.stdout
    for doc in emf_lines(metrics, dimensions, unit=unit):
        out.write(json.dumps(doc, separators=(",", ":")) + "\n")
    out.flush()


def _document(
    chunk: Mapping[str, list[float]],
    dimensions: Mapping[str, str],
    unit: Mapping[str, str],
    namespace: str,
    stamp: int,
) -> dict[str, Any]:
    directive = {
        "Namespace": namespace,
        "Dimensions": [sorted(dimensions)],
        "Metrics": [{"Name": n, "Unit": unit.get(n, "Count")} for n in chunk],
    }
    doc: dict[str, Any] = {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [directive]}}
    doc.update(dimensions)
    doc.update({n: v[0] if len(v) == 1 else v for n, v in chunk.items()})
    return doc
