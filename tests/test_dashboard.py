"""The generated dashboard graphs only metrics the functions really emit.

Each config's functions are run in-process on moto through `ops invoke`'s machinery (the rendered
handler and `$OPS_JOB`), with the family's sample event and with a foreign one, and every EMF
line they print is collected. Every `ops` metric the dashboard names, with its dimensions, must
be among them; the `AWS/Lambda` metrics must be ones Lambda publishes.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.config import load_config
from ops.errors import OpsError
from ops.events import sample_event
from ops.invoke import FunctionError, function_definition, invoke_local
from ops.render import build_template, render
from tests.conftest import REGION, ROOT

# What Lambda itself publishes per function (AWS/Lambda, FunctionName).
LAMBDA_METRICS = {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"}
CONFIGS = [ROOT / "ops.toml", *sorted((ROOT / "examples").glob("*.toml"))]
TABLES = {"OPS_MARKER_TABLE": "markers", "OPS_RATE_TABLE": "rates"}
FOREIGN_EVENT = {"source": "not.ops", "detail-type": "Something Else", "detail": {}}
Identity = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, metric, sorted dimensions


def dashboard_body(config_path: Path, region: str = REGION) -> dict[str, Any]:
    template = json.loads(render(load_config(config_path), region=_region(config_path)))
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return dict(json.loads(body.replace("${AWS::Region}", region)))


def _region(config_path: Path) -> str | None:
    config = load_config(config_path)
    return config.deployer.region if config.deployer else None


def graphed(body: dict[str, Any]) -> set[Identity]:
    found = set()
    for widget in body["widgets"]:
        for metric in widget.get("properties", {}).get("metrics", []):
            namespace, name, *dims = metric
            pairs = tuple(sorted(zip(dims[::2], dims[1::2], strict=True)))
            found.add((namespace, name, pairs))
    return found


def emf_identities(lines: Iterable[str]) -> set[Identity]:
    found = set()
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "_aws" not in doc:
            continue
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dims in directive["Dimensions"]:
                pairs = tuple(sorted((d, str(doc[d])) for d in dims))
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], pairs))
    return found


def unexplained(body: dict[str, Any], emitted: set[Identity]) -> list[Identity]:
    """Metrics the dashboard graphs that no function emitted (or Lambda does not publish)."""
    return sorted(
        m
        for m in graphed(body)
        if m not in emitted and not (m[0] == "AWS/Lambda" and m[1] in LAMBDA_METRICS)
    )


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _world(items: Iterable[Any]) -> Iterator[None]:
    """What the functions' sample runs reach: their tables, topics and webhooks (a local one)."""
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    ddb = boto3.client("dynamodb", region_name=REGION)
    for table in TABLES.values():
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    items = list(items)
    for topic in {i.topic for i in items if getattr(i, "topic", None)}:
        boto3.client("sns", region_name=REGION).create_topic(Name=topic.split(":")[-1])
    for secret in {i.webhook_secret for i in items if getattr(i, "webhook_secret", None)}:
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=secret, SecretString=hook
        )
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def run_every_function(config_path: Path) -> set[Identity]:
    """Each function of the config with its sample event and a foreign one; the EMF printed."""
    config = load_config(config_path)
    out = io.StringIO()
    with mock_aws(), _world(item for _, item in config.items()):
        for _, item in config.items():
            try:
                definition = function_definition(config, item.name)
            except OpsError:  # a native action (metric filter, EC2 alarm action): no function
                continue
            # Its own sample event, then one not meant for it (what a rejection emits).
            for event in (sample_event(config, item.name, REGION), FOREIGN_EVENT):
                with contextlib.redirect_stderr(out), contextlib.suppress(FunctionError):
                    invoke_local(definition, event, region=REGION, extra_env=TABLES)
    return emf_identities(out.getvalue().splitlines())


@pytest.mark.parametrize("config_path", CONFIGS, ids=lambda p: p.name)
def test_every_metric_the_dashboard_graphs_is_one_a_function_emits(config_path: Path) -> None:
    body = dashboard_body(config_path)
    emitted = run_every_function(config_path)
    assert emitted, "the functions printed no EMF: the run did not reach them"
    assert unexplained(body, emitted) == []


def test_a_metric_no_function_emits_is_caught() -> None:
    body = dashboard_body(ROOT / "ops.toml")
    body["widgets"][1]["properties"]["metrics"].append(["ops", "Purged", "Job", "tmp-images"])
    emitted = run_every_function(ROOT / "ops.toml")
    assert unexplained(body, emitted) == [("ops", "Purged", (("Job", "tmp-images"),))]


def test_one_row_per_family_then_every_functions_lambda_metrics() -> None:
    body = dashboard_body(ROOT / "ops.toml")
    rows = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert rows == [
        "## Purge jobs",
        "## Responders",
        "## Log processors",
        "## Deployer",
        "## Every function (AWS/Lambda)",
    ]
    lambda_graphs = [
        w for w in body["widgets"] if w["properties"].get("title", "")[:10] == "Functions:"
    ]
    errors = next(w for w in lambda_graphs if w["properties"]["title"] == "Functions: errors")
    names = {m[3] for m in errors["properties"]["metrics"]}
    template = build_template(load_config(ROOT / "ops.toml"), "eu-west-1").to_dict()
    functions = {
        r["Properties"]["FunctionName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    assert names == functions


def test_widgets_tile_the_grid_without_overlap() -> None:
    body = dashboard_body(ROOT / "ops.toml")
    cells: set[tuple[int, int]] = set()
    for w in body["widgets"]:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24
        mine = {
            (x, y)
            for x in range(w["x"], w["x"] + w["width"])
            for y in range(w["y"], w["y"] + w["height"])
        }
        assert not cells & mine
        cells |= mine


def test_on_by_default_and_off_with_dashboard_false(write_config: Any) -> None:
    job = (
        '[[purge]]\nname = "tmp"\ntarget = "s3"\nschedule = "rate(1 hour)"\n'
        'bucket = "acme-media"\nprefix = "tmp/"\nolder_than = "1h"\n'
    )
    on = json.loads(render(load_config(write_config(f'[stack]\nname = "a"\n\n{job}', "on.toml"))))
    off_toml = f'[stack]\nname = "a"\ndashboard = false\n\n{job}'
    off = json.loads(render(load_config(write_config(off_toml, "off.toml"))))
    assert on["Resources"]["Dashboard"]["Properties"]["DashboardName"] == "a"
    assert "Dashboard" not in off["Resources"]
    del on["Resources"]["Dashboard"]
    assert on == off


def test_a_stack_without_functions_has_no_dashboard(write_config: Any) -> None:
    path = write_config('[stack]\nname = "empty"\n')
    assert "Dashboard" not in json.loads(render(load_config(path))).get("Resources", {})
