"""Property test of the pattern-alert path: whatever events a decoded batch holds (any JSON where
an event should be), `alert_batch` never raises, a batch without a readable match touches
neither the rate-limit table nor the sink, and an alert that goes out is JSON the sink can send.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from unittest.mock import Mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.logs.decode import LogBatch
from functions.logs.limiter import Decision, WindowLimiter
from functions.logs.pattern_alert import alert_batch
from functions.logs.settings import PatternAlertSettings
from functions.runtime.budget import TimeBudget
from tests.test_logs_malformed import JSON

NOW = datetime(2025, 1, 1, tzinfo=UTC)
EVENT = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"message": st.one_of(st.text(max_size=30), JSON)},
        optional={"id": JSON, "timestamp": st.one_of(st.integers(), JSON)},
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENT, max_size=6), st.sampled_from([None, "ERROR", "^$"]))
def test_alert_batch_never_raises_and_calls_no_aws_without_a_match(
    events: list[Any], pattern: str | None
) -> None:
    sink = Mock()
    sink.send.return_value = "receipt"
    limiter = Mock(spec=WindowLimiter)
    limiter.acquire.return_value = Decision(True, 0)
    job = PatternAlertSettings(
        name="errors", action="pattern-alert", pattern=pattern, sample_lines=3
    )
    batch = LogBatch("DATA_MESSAGE", "1", "/aws/lambda/f", "s", (), events)
    report = alert_batch(
        batch,
        job,
        sink=sink,
        limiter=limiter,
        now=NOW,
        budget=TimeBudget.seconds(10),
        region="eu-west-1",
    )
    assert report.matched + report.malformed <= len(events)
    if report.matched == 0:
        assert limiter.method_calls == [] and sink.method_calls == []
    else:
        [call] = sink.send.call_args_list
        json.dumps(call.args[0], allow_nan=False)  # what SNS or the webhook receives
