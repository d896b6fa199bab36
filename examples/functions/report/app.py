"""A nightly report: reads its settings from SSM and a webhook token from Secrets Manager at run
time (never from the environment), and posts a one-line summary."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import ops_config


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = ops_config.parameters("/acme/report/")
    title = os.environ.get("REPORT_TITLE", "Report")
    summary = {"title": title, "settings": sorted(settings), "time": event.get("time")}
    url = settings.get("/acme/report/webhook_url")
    if url:
        token = ops_config.secret("acme/report/webhook")
        request = urllib.request.Request(
            url,
            data=json.dumps(summary).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (https from SSM)
            summary["status"] = response.status
    return summary
