"""The stack's CloudWatch dashboard, from the metrics its functions already emit.

One row per family that the template holds (purge jobs, responders, log processors, the deployer),
each graphing the EMF metrics that family's function prints (`functions/runtime/metrics.py`,
namespace `ops`, with the dimensions the function emits them under), then one row of every
function's own Lambda metrics (`AWS/Lambda` Errors, Duration, Throttles by `FunctionName`).

The dashboard reads the functions from the rendered template, after every builder ran: their
`FunctionName`, `Handler` and `$OPS_JOB`, the same settings the function reads to name its metric
dimensions. So what the dashboard graphs is what the deployed functions emit, and a family added
later still gets its Lambda metrics. The body is sorted JSON inside a `Sub` (for the region), so
the same config renders the same dashboard byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from troposphere import Sub, Template, awslambda, cloudwatch

from templates import deployer, log_processors, purge, responders

NAMESPACE = "ops"  # functions/runtime/metrics.NAMESPACE: templates never import functions/
LAMBDA_NAMESPACE = "AWS/Lambda"
REGION = "${AWS::Region}"  # resolved by the Sub around the body
PERIOD = 300
WIDTH = 24  # the dashboard grid is 24 units wide
HEIGHT = 6
Metric = list[Any]  # [namespace, metric, dimension, value, ...] as CloudWatch dashboards take it


@dataclass(frozen=True)
class DeployedFunction:
    """A function of the template: its name, handler and the job its `$OPS_JOB` carries."""

    logical_id: str
    name: str
    handler: str
    job: dict[str, Any]


@dataclass(frozen=True)
class Graph:
    title: str
    metrics: tuple[Metric, ...]
    stat: str = "Sum"


def add_dashboard(template: Template, stack: str) -> cloudwatch.Dashboard | None:
    """The dashboard of the functions `template` holds; None when it holds none."""
    functions = deployed_functions(template)
    if not functions:
        return None
    body = {"widgets": list(widgets(functions))}
    return template.add_resource(
        cloudwatch.Dashboard(
            "Dashboard",
            DashboardName=stack,
            DashboardBody=Sub(json.dumps(body, sort_keys=True, separators=(",", ":"))),
        )
    )


def deployed_functions(template: Template) -> list[DeployedFunction]:
    found = []
    for logical, resource in sorted(template.resources.items()):
        if not isinstance(resource, awslambda.Function):
            continue
        props = resource.properties
        variables = props["Environment"].properties["Variables"] if "Environment" in props else {}
        job = variables.get("OPS_JOB")
        found.append(
            DeployedFunction(
                logical_id=str(logical),
                name=str(props["FunctionName"]),
                handler=str(props["Handler"]),
                job=json.loads(job) if isinstance(job, str) else {},
            )
        )
    return found


# ---- each family's graphs, from the metrics its handler emits -------------------------------
def _purge(fns: Sequence[DeployedFunction]) -> list[Graph]:
    # functions/purge/handler.py: dimensions Job (the job's name) and Target
    def of(metric: str) -> tuple[Metric, ...]:
        dims = [(("Job", f.job["name"]), ("Target", f.job["target"])) for f in fns]
        return tuple(_ops(metric, *d) for d in dims)

    return [
        Graph("Purge: deleted", of("Deleted")),
        Graph("Purge: would delete (dry run)", of("WouldDelete")),
        Graph("Purge: failed, capped, rejected", of("Failed") + of("Capped") + of("Rejected")),
    ]


def _responders(fns: Sequence[DeployedFunction]) -> list[Graph]:
    # functions/responders/handler.py: dimension Responder (the responder's name)
    def of(metric: str) -> tuple[Metric, ...]:
        return tuple(_ops(metric, ("Responder", f.job["name"])) for f in fns)

    return [
        Graph("Responders: acted", of("Acted") + of("DryRun")),
        Graph("Responders: skipped", of("Skipped")),
        Graph("Responders: failed, rejected", of("Failed") + of("Rejected")),
    ]


LOG_METRICS = {  # functions/logs/handler.py, per action: dimension Processor (its name)
    "lambda-report-metrics": ("LogEvents", "MalformedLines"),
    "pattern-alert": ("Matched", "AlertsSent", "Suppressed"),
}


def _log_processors(fns: Sequence[DeployedFunction]) -> list[Graph]:
    def of(metrics: Callable[[str], bool]) -> tuple[Metric, ...]:
        return tuple(
            _ops(m, ("Processor", f.job["name"]))
            for f in fns
            for m in LOG_METRICS.get(f.job.get("action", ""), ())
            if metrics(m)
        )

    return [
        Graph("Log processors: log events read", of(lambda m: m == "LogEvents")),
        Graph("Log processors: alerts", of(lambda m: m in ("Matched", "AlertsSent", "Suppressed"))),
        Graph("Log processors: malformed lines", of(lambda m: m == "MalformedLines")),
    ]


def _deployer(fns: Sequence[DeployedFunction]) -> list[Graph]:
    # functions/deployer/handler.py: dimensions Deployer (its own function name) and Region
    def of(metric: str) -> tuple[Metric, ...]:
        return tuple(
            _ops(metric, ("Deployer", f.job["own_function"]), ("Region", REGION)) for f in fns
        )

    return [
        Graph("Deployer: deployed", of("Deployed")),
        Graph("Deployer: skipped", of("Skipped")),
        Graph("Deployer: failed, rejected", of("Failed") + of("Rejected")),
    ]


# handler -> (row title, graphs of that family's functions), in the order rows appear
FAMILIES: dict[str, tuple[str, Callable[[Sequence[DeployedFunction]], list[Graph]]]] = {
    purge.HANDLER: ("Purge jobs", _purge),
    responders.HANDLER: ("Responders", _responders),
    log_processors.HANDLER: ("Log processors", _log_processors),
    deployer.HANDLER: ("Deployer", _deployer),
}


def _lambda(fns: Sequence[DeployedFunction]) -> list[Graph]:
    def of(metric: str) -> tuple[Metric, ...]:
        return tuple([LAMBDA_NAMESPACE, metric, "FunctionName", f.name] for f in fns)

    return [
        Graph("Functions: errors", of("Errors")),
        Graph("Functions: duration (p99)", of("Duration"), stat="p99"),
        Graph("Functions: throttles", of("Throttles")),
    ]


def _ops(metric: str, *dimensions: tuple[str, str]) -> Metric:
    return [NAMESPACE, metric, *(part for pair in sorted(dimensions) for part in pair)]


# ---- layout -----------------------------------------------------------------------------------
def rows(functions: Sequence[DeployedFunction]) -> Iterator[tuple[str, list[Graph]]]:
    """(title, graphs) per family present, then every function's Lambda metrics."""
    for handler, (title, graphs) in FAMILIES.items():
        members = [f for f in functions if f.handler == handler]
        chosen = [g for g in graphs(members) if g.metrics] if members else []
        if chosen:
            yield title, chosen
    yield "Every function (AWS/Lambda)", _lambda(functions)


def widgets(functions: Sequence[DeployedFunction]) -> Iterator[dict[str, Any]]:
    y = 0
    for title, graphs in rows(functions):
        yield _text(f"## {title}", y)
        y += 1
        width = WIDTH // len(graphs)
        for i, graph in enumerate(graphs):
            yield _graph(graph, x=i * width, y=y, width=width)
        y += HEIGHT


def _text(markdown: str, y: int) -> dict[str, Any]:
    place = {"x": 0, "y": y, "width": WIDTH, "height": 1}
    return {"type": "text", **place, "properties": {"markdown": markdown}}


def _graph(graph: Graph, *, x: int, y: int, width: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": HEIGHT,
        "properties": {
            "title": graph.title,
            "region": REGION,
            "metrics": [list(m) for m in graph.metrics],
            "stat": graph.stat,
            "period": PERIOD,  # a line graph ("view": "timeSeries") is CloudWatch's default
        },
    }
