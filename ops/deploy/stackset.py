"""`ops apply --org`: the stack as one CloudFormation stack set over `[targets]`' accounts and
regions (StackSets runs the rollout: up to 100,000 instances per stack set).

`plan_stack_set` only reads (DescribeStackSet, ListStackInstances) and decides: create the stack
set, update it (the template or parameters differ), add instances (new accounts or regions), or
nothing, in which case no operation is started at all. `StackSetRun` performs those steps, each
operation with its own OperationId (the idempotency token StackSets takes), and waits on it with
DescribeStackSetOperation; a failed operation is reported per instance: account, region, status
and the instance's StatusReason, which is the root cause StackSets knows.

The preferences and deployment targets are built from the config here, once, for every call.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ops.models.targets import DEFAULT_ADMIN_ROLE, DEFAULT_EXECUTION_ROLE, Targets

DONE = ("SUCCEEDED",)
ENDED = ("SUCCEEDED", "FAILED", "STOPPED")


def operation_preferences(targets: Targets) -> dict[str, Any]:
    """StackSets' OperationPreferences from the config (percentages, region order and mode)."""
    return {
        "RegionConcurrencyType": targets.region_concurrency.upper(),
        "RegionOrder": list(targets.region_order),
        "MaxConcurrentPercentage": targets.max_concurrent_percent,
        "FailureTolerancePercentage": targets.failure_tolerance_percent,
        "ConcurrencyMode": f"{targets.concurrency_mode.upper()}_FAILURE_TOLERANCE",
    }


def deployment(targets: Targets) -> dict[str, Any]:
    """Where instances go: `DeploymentTargets` (OUs) or `Accounts`, with the regions."""
    if targets.service_managed:
        where: dict[str, Any] = {
            "DeploymentTargets": {"OrganizationalUnitIds": list(targets.organizational_units)}
        }
    else:
        where = {"Accounts": list(targets.accounts)}
    return {**where, "Regions": list(targets.region_order)}


def permissions(targets: Targets, admin_account: str, partition: str = "aws") -> dict[str, Any]:
    """CreateStackSet's permission model: SERVICE_MANAGED with auto-deployment, or
    SELF_MANAGED with the administration role (an ARN) and the execution role (a name)."""
    if targets.service_managed:
        auto = True if targets.auto_deployment is None else targets.auto_deployment
        return {
            "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": {
                "Enabled": auto,
                "RetainStacksOnAccountRemoval": targets.retain_stacks_on_account_removal
                if auto
                else False,
            },
        }
    admin = targets.administration_role or DEFAULT_ADMIN_ROLE
    return {
        "PermissionModel": "SELF_MANAGED",
        "AdministrationRoleARN": f"arn:{partition}:iam::{admin_account}:role/{admin}",
        "ExecutionRoleName": targets.execution_role or DEFAULT_EXECUTION_ROLE,
    }


def artifact_bucket_policy(
    bucket: str, targets: Targets, org_id: str | None, partition: str = "aws"
) -> dict[str, Any]:
    """The per-region artifact bucket's policy: the target accounts may GetObject, nothing else
    (the organization by aws:PrincipalOrgID when service-managed, else the listed accounts),
    and nobody may reach the bucket without TLS."""
    objects = f"arn:{partition}:s3:::{bucket}/*"
    statement: dict[str, Any] = {
        "Sid": "TargetAccountsReadCode",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": objects,
    }
    if targets.service_managed:
        if not org_id:
            raise ValueError("a service-managed stack set needs the organization id")
        statement["Principal"] = "*"
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": org_id}}
    else:
        statement["Principal"] = {
            "AWS": [f"arn:{partition}:iam::{account}:root" for account in targets.accounts]
        }
    tls = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{bucket}", objects],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return {"Version": "2012-10-17", "Statement": [statement, tls]}


@dataclass(frozen=True)
class StackSetState:
    exists: bool
    template: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    instances: frozenset[tuple[str, str]] = frozenset()  # (account, region)


def describe_stack_set(cfn: Any, name: str) -> Mapping[str, Any] | None:
    """DescribeStackSet's answer, or None when there is no such (live) stack set."""
    from botocore.exceptions import ClientError

    try:
        found: Mapping[str, Any] = cfn.describe_stack_set(StackSetName=name)["StackSet"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "StackSetNotFoundException":
            return None
        raise
    return None if found.get("Status") == "DELETED" else found


def instance_summaries(cfn: Any, name: str) -> list[Mapping[str, Any]]:
    pages = cfn.get_paginator("list_stack_instances").paginate(StackSetName=name)
    return [i for page in pages for i in page["Summaries"]]


def read_stack_set(cfn: Any, name: str) -> StackSetState:
    found = describe_stack_set(cfn, name)
    if found is None:
        return StackSetState(exists=False)
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters", [])}
    instances = frozenset((i["Account"], i["Region"]) for i in instance_summaries(cfn, name))
    return StackSetState(True, found.get("TemplateBody", ""), params, instances)


def list_instances(cfn: Any, name: str) -> list[Mapping[str, Any]] | None:
    """Every instance summary of the stack set (all pages), or None when there is no set."""
    if describe_stack_set(cfn, name) is None:
        return None
    return sorted(instance_summaries(cfn, name), key=lambda i: (i["Account"], i["Region"]))


@dataclass(frozen=True)
class StackSetPlan:
    create: bool = False
    update: bool = False
    add_instances: bool = False
    # Self-managed instances whose account or region the config no longer names: kept (a
    # stack set operation deletes only what `ops destroy --org` is asked to), and said.
    stale: frozenset[tuple[str, str]] = frozenset()

    @property
    def nothing(self) -> bool:
        return not (self.create or self.update or self.add_instances)


def same_template(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


def plan_stack_set(
    state: StackSetState, body: str, parameters: Mapping[str, str], wanted: set[tuple[str, str]]
) -> StackSetPlan:
    """What an apply does; for service-managed targets `wanted` is empty (Organizations knows
    the accounts) and instances are added when there are none yet."""
    if not state.exists:
        return StackSetPlan(create=True, add_instances=True)
    changed = not same_template(state.template, body) or dict(state.parameters) != dict(parameters)
    missing = bool(wanted - state.instances) if wanted else not state.instances
    stale = frozenset(state.instances - wanted) if wanted else frozenset()
    return StackSetPlan(update=changed, add_instances=missing, stale=stale)


@dataclass
class Operation:
    """One stack set operation to its end: per-region progress lines, failures' root causes."""

    cfn: Any
    name: str
    say: Callable[[str], None]
    sleep: Callable[[float], None] = time.sleep
    delay: float = 5.0
    timeout: float = 3600.0
    clock: Callable[[], float] = time.monotonic

    def wait(self, operation_id: str) -> tuple[str, list[str]]:
        start = self.clock()
        while True:
            status = self.cfn.describe_stack_set_operation(
                StackSetName=self.name, OperationId=operation_id
            )["StackSetOperation"]["Status"]
            self.say(self.progress(operation_id, status))
            if status in ENDED:
                return status, self.failures(operation_id)
            if self.clock() - start >= self.timeout:
                return "TIMED_OUT", []
            self.sleep(self.delay)

    def results(self, operation_id: str) -> list[Mapping[str, Any]]:
        pages = self.cfn.get_paginator("list_stack_set_operation_results").paginate(
            StackSetName=self.name, OperationId=operation_id
        )
        return [r for page in pages for r in page["Summaries"]]

    def progress(self, operation_id: str, status: str) -> str:
        """`eu-west-1: 3 succeeded, 1 running, 0 failed` per region."""
        regions: dict[str, dict[str, int]] = {}
        for result in self.results(operation_id):
            counts = regions.setdefault(
                result["Region"], {"succeeded": 0, "running": 0, "failed": 0}
            )
            state = str(result.get("Status", "")).upper()
            key = {"SUCCEEDED": "succeeded", "FAILED": "failed", "CANCELLED": "failed"}.get(
                state, "running"
            )
            counts[key] += 1
        parts = [
            f"{region}: {c['succeeded']} succeeded, {c['running']} running, {c['failed']} failed"
            for region, c in sorted(regions.items())
        ]
        return f"stack set {self.name} {status}" + (f" ({'; '.join(parts)})" if parts else "")

    def failures(self, operation_id: str) -> list[str]:
        return [
            f"{r['Account']} {r['Region']}: {r.get('Status')}: "
            f"{r.get('StatusReason') or '(no reason given)'}"
            for r in self.results(operation_id)
            if str(r.get("Status", "")).upper() in ("FAILED", "CANCELLED")
        ]


def new_operation_id() -> str:
    return f"ops-{uuid.uuid4().hex}"


@dataclass
class StackSetRun:
    """The executor: the only code here that changes the stack set."""

    cfn: Any
    name: str
    targets: Targets
    admin_account: str
    operation: Operation
    operation_id: Callable[[], str] = new_operation_id
    partition: str = "aws"
    started: list[str] = field(default_factory=list)  # operation ids, in order

    def plan(self, body: str, parameters: Mapping[str, str]) -> StackSetPlan:
        """Reads only: what `execute` would do with this template and parameters."""
        wanted = set() if self.targets.service_managed else self._wanted()
        return plan_stack_set(read_stack_set(self.cfn, self.name), body, parameters, wanted)

    def apply(
        self,
        body: str,
        parameters: Mapping[str, str],
        capabilities: Sequence[str],
        template_url: str | None = None,
    ) -> str:
        """Plan, then execute: "created", "updated", "no changes", or the status of the
        operation that did not succeed (FAILED, STOPPED, TIMED_OUT)."""
        return self.execute(
            self.plan(body, parameters), body, parameters, capabilities, template_url
        )

    def execute(
        self,
        plan: StackSetPlan,
        body: str,
        parameters: Mapping[str, str],
        capabilities: Sequence[str],
        template_url: str | None = None,
    ) -> str:
        """Create or update the stack set and its instances as `plan` says; the template goes
        inline, or by `template_url` when it is over TemplateBody's 51,200 bytes."""
        if plan.nothing:
            self.operation.say(f"stack set {self.name}: no changes (no operation started)")
            return "no changes"
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
        source = {"TemplateURL": template_url} if template_url else {"TemplateBody": body}
        common = {"StackSetName": self.name, **source, "Parameters": params}
        if plan.create:
            self.cfn.create_stack_set(
                **common,
                Capabilities=list(capabilities),
                **permissions(self.targets, self.admin_account, self.partition),
            )
        if plan.update:
            # No Accounts, DeploymentTargets or Regions: StackSets then updates every instance
            # the set has; naming targets without an instance yet (an account just added) is
            # StackInstanceNotFoundException. The new ones are created next, from the new body.
            result = self._run(self.cfn.update_stack_set, **common, Capabilities=list(capabilities))
            if result != "SUCCEEDED":
                return result
        if plan.add_instances:
            where = deployment(self.targets)
            result = self._run(self.cfn.create_stack_instances, StackSetName=self.name, **where)
            if result != "SUCCEEDED":
                return result
        return "created" if plan.create else "updated"

    def destroy(self) -> str:
        """Delete every instance the stack set has (in the regions and accounts it has them,
        which may be more than the config names now), then the stack set."""
        state = read_stack_set(self.cfn, self.name)
        if not state.exists:
            return "nothing to delete"
        if state.instances:
            regions = sorted({region for _account, region in state.instances})
            if self.targets.service_managed:
                where: dict[str, Any] = {
                    "DeploymentTargets": {
                        "OrganizationalUnitIds": list(self.targets.organizational_units)
                    }
                }
            else:
                where = {"Accounts": sorted({account for account, _region in state.instances})}
            result = self._run(
                self.cfn.delete_stack_instances,
                StackSetName=self.name,
                RetainStacks=False,
                Regions=regions,
                **where,
            )
            if result != "SUCCEEDED":
                return result
        self.cfn.delete_stack_set(StackSetName=self.name)
        return "deleted"

    def _wanted(self) -> set[tuple[str, str]]:
        return {(a, r) for a in self.targets.accounts for r in self.targets.region_order}

    def _run(self, call: Callable[..., Any], **kwargs: Any) -> str:
        preferences = operation_preferences(self.targets)
        if "Regions" in kwargs:  # the config's order, over the regions this operation has
            order = [r for r in self.targets.region_order if r in kwargs["Regions"]]
            preferences["RegionOrder"] = order + sorted(set(kwargs["Regions"]) - set(order))
        answer = call(**kwargs, OperationId=self.operation_id(), OperationPreferences=preferences)
        # The id the operation runs under, as StackSets answers it (moto makes its own).
        operation_id = str(answer["OperationId"])
        self.started.append(operation_id)
        status, failures = self.operation.wait(operation_id)
        for line in failures:
            self.operation.say(f"  failed: {line}")
        return status
