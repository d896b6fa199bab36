"""One malformed S3 record is rejected and reported; the good record beside it is deployed. And,
for any JSON at all, the record parser raises nothing but `Rejected`, and a rejected record calls
no AWS."""

from __future__ import annotations

import contextlib
import copy
from typing import Any
from unittest.mock import Mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.deployer.api import DeployApi
from functions.deployer.deploy import check_target, deploy_record
from functions.deployer.layout import Rejected, Upload
from functions.runtime.budget import TimeBudget
from ops.push import object_created_event
from tests.test_deployer_flow import SETTINGS, Region, code, merge, primary  # noqa: F401


def bad_copy(event: dict[str, Any], change: Any) -> dict[str, Any]:
    broken = copy.deepcopy(event)
    change(broken["Records"][0])
    return broken


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r["s3"]["object"].update(size="12 KB"), "s3.object.size is '12 KB'"),
        (lambda r: r["s3"]["object"].update(size=[1]), "s3.object.size is [1]"),
        (lambda r: r.update(s3="deploy/dev/api.zip"), "s3 is not an object (str)"),
        (lambda r: r["s3"].update(object=["k"]), "s3.object is not an object (list)"),
        (lambda r: r["s3"]["object"].update(key=7), "names no bucket or key"),
        (lambda r: r["s3"]["object"].update(sequencer=5), "sequencer is 5"),
    ],
)
def test_a_malformed_record_is_rejected_and_the_good_one_deployed(
    primary: Region,  # noqa: F811
    change: Any,
    reason: str,
) -> None:
    """Bug: a `size` that is not a number (ValueError) or an `s3` that is not an object
    (AttributeError) raised out of the handler, and the good record was never deployed."""
    primary.function("api")
    primary.function("worker-1")
    good = primary.upload("deploy/dev/api.zip", code("v1"))
    other = primary.upload("deploy/dev/worker-1.zip", code("w1"))
    report = primary.run(merge(bad_copy(other, change), good))
    bad, deployed = report.outcomes
    assert (bad.status, deployed.status) == ("rejected", "deployed")
    assert reason in bad.reason
    assert primary.alias("api")["FunctionVersion"] == "2"
    assert primary.alias("worker-1")["FunctionVersion"] == "1"  # untouched
    assert report.as_dict()["rejected"] == 1 and not report.failed


# --- property tests ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
GOOD = object_created_event("eu-west-1", SETTINGS.buckets["eu-west-1"], "deploy/dev/api.zip",
                            "v1", 3, "e", "0A")["Records"][0]  # fmt: skip
PATHS = st.sampled_from([
    (), ("s3",), ("s3", "object"), ("s3", "bucket"), ("s3", "object", "size"),
    ("s3", "object", "key"), ("s3", "object", "versionId"), ("s3", "object", "sequencer"),
    ("s3", "bucket", "name"), ("eventName",), ("awsRegion",),
])  # fmt: skip
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def replaced(path: tuple[str, ...], value: Any) -> Any:
    """The good record with the value at `path` replaced by arbitrary JSON."""
    if not path:
        return value
    record = copy.deepcopy(GOOD)
    node = record
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return record


RECORDS = JSON | st.builds(replaced, PATHS, JSON)


@FAST
@given(RECORDS)
def test_the_record_parser_raises_only_rejected(record: Any) -> None:
    with contextlib.suppress(Rejected):  # anything else fails the test
        Upload.from_record(record)


@FAST
@given(RECORDS)
def test_a_rejected_record_calls_no_aws(record: Any) -> None:
    try:
        check_target(Upload.from_record(record), SETTINGS)
    except Rejected:
        pass
    else:
        return  # a deployable record goes on to AWS (the moto tests cover it)
    api = Mock(spec=DeployApi)
    outcome = deploy_record(record, SETTINGS, api, TimeBudget.seconds(60))
    assert outcome.status == "rejected" and outcome.reason
    assert api.mock_calls == []
