"""`ops drift`: CloudFormation drift detection of the stack, with the deployer's own changes
set apart as expected.

DetectStackDrift starts a detection; DescribeStackDriftDetectionStatus is polled until it is no
longer in progress (DETECTION_FAILED still has results for the resources it could check: its
reason names the others); DescribeStackResourceDrifts (every page) gives each MODIFIED or DELETED
resource with its property differences. Who owns what: CloudFormation owns each function's
configuration, the deployer owns code and stage aliases, so a function's `Code` and an alias's
`FunctionVersion` and `Description` (the deployer's record) differing from the template is the
deployer at work, not drift. Anything else is drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ops.errors import TimedOut, UsageError

POLL_SECONDS = 5.0
REAL = ("MODIFIED", "DELETED")
# resource type -> property paths (and their children) the deployer changes on purpose
EXPECTED = {
    "AWS::Lambda::Function": ("/Code",),
    "AWS::Lambda::Alias": ("/FunctionVersion", "/Description", "/RoutingConfig"),
}


@dataclass(frozen=True)
class Difference:
    path: str
    expected: str
    actual: str
    kind: str  # ADD, REMOVE, NOT_EQUAL

    def line(self) -> str:
        expected, actual = self.expected or "(none)", self.actual or "(none)"
        return f"{self.path}: expected {expected}, actual {actual}"


@dataclass(frozen=True)
class ResourceDrift:
    logical_id: str
    resource_type: str
    status: str  # MODIFIED, DELETED
    drifted: tuple[Difference, ...] = ()
    expected: tuple[Difference, ...] = ()  # the deployer's own changes

    @property
    def real(self) -> bool:
        return self.status == "DELETED" or bool(self.drifted)


@dataclass(frozen=True)
class StackDrift:
    stack: str
    region: str
    detection: str  # DETECTION_COMPLETE or DETECTION_FAILED
    reason: str
    resources: tuple[ResourceDrift, ...] = field(default_factory=tuple)

    @property
    def drifted(self) -> bool:
        return any(r.real for r in self.resources)


def detect(
    cfn: Any,
    stack: str,
    region: str,
    *,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> StackDrift:
    """Run drift detection on `stack` and read every drifted resource."""
    from ops.deploy.plan import read_stack

    if not read_stack(cfn, stack, region).exists:
        raise UsageError(
            f"stack {stack} does not exist in {region}: check --region and the config's "
            f"[stack] name, or deploy it with ops apply --region {region}"
        )
    detection = cfn.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]
    status = _wait(cfn, detection, timeout, sleep, clock)
    resources = tuple(_resource(d) for d in _drifts(cfn, stack))
    return StackDrift(
        stack=stack,
        region=region,
        detection=str(status["DetectionStatus"]),
        reason=str(status.get("DetectionStatusReason", "")),
        resources=tuple(sorted(resources, key=lambda r: r.logical_id)),
    )


def _wait(
    cfn: Any,
    detection: str,
    timeout: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, Any]:
    deadline = clock() + timeout
    while True:
        status: dict[str, Any] = cfn.describe_stack_drift_detection_status(
            StackDriftDetectionId=detection
        )
        if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
            return status
        if clock() >= deadline:
            raise TimedOut(
                f"drift detection {detection} still in progress after {timeout:g}s: run ops "
                "drift again later (CloudFormation keeps detecting)"
            )
        sleep(POLL_SECONDS)


def _drifts(cfn: Any, stack: str) -> Iterator[dict[str, Any]]:
    """Every MODIFIED or DELETED resource, page by page (botocore has no paginator for it)."""
    args: dict[str, Any] = {"StackName": stack, "StackResourceDriftStatusFilters": list(REAL)}
    while True:
        page = cfn.describe_stack_resource_drifts(**args)
        yield from page.get("StackResourceDrifts", [])
        if not page.get("NextToken"):
            return
        args["NextToken"] = page["NextToken"]


def _resource(drift: dict[str, Any]) -> ResourceDrift:
    kind = str(drift["ResourceType"])
    owned = EXPECTED.get(kind, ())
    drifted: list[Difference] = []
    expected: list[Difference] = []
    for diff in drift.get("PropertyDifferences", []):
        d = Difference(
            path=str(diff["PropertyPath"]),
            expected=str(diff.get("ExpectedValue", "")),
            actual=str(diff.get("ActualValue", "")),
            kind=str(diff.get("DifferenceType", "")),
        )
        ours = any(d.path == p or d.path.startswith(f"{p}/") for p in owned)
        (expected if ours else drifted).append(d)
    return ResourceDrift(
        logical_id=str(drift["LogicalResourceId"]),
        resource_type=kind,
        status=str(drift["StackResourceDriftStatus"]),
        drifted=tuple(drifted),
        expected=tuple(expected),
    )


def drift_lines(result: StackDrift) -> list[str]:
    real = [r for r in result.resources if r.real]
    verdict = f"DRIFTED ({len(real)} resource{'s' * (len(real) != 1)})" if real else "IN_SYNC"
    lines = [f"Stack {result.stack} in {result.region}: {verdict}"]
    if result.detection == "DETECTION_FAILED":
        lines.append(f"  detection incomplete: {result.reason}")
    for r in real:
        lines.append(f"  {r.status:<9} {r.logical_id}  {r.resource_type}")
        lines += [f"      {d.line()}" for d in r.drifted]
    for r in result.resources:
        for d in r.expected:
            lines.append(f"  expected  {r.logical_id}  {d.line()} (the deployer's change)")
    return lines


def as_dict(result: StackDrift) -> dict[str, Any]:
    return {
        "stack": result.stack,
        "region": result.region,
        "drifted": result.drifted,
        "detection": result.detection,
        "reason": result.reason or None,
        "resources": [
            {
                "logical_id": r.logical_id,
                "type": r.resource_type,
                "status": r.status,
                "drift": [d.__dict__ for d in r.drifted],
                "expected": [d.__dict__ for d in r.expected],
            }
            for r in result.resources
        ],
    }
