"""`ops apply/plan/status/destroy --org`: the stack set of `[targets]`, from one administrator
region.

`OrgDeploy.apply` renders once, plans (reads only: DescribeStackSet, ListStackInstances), and
when the plan is nothing, stops there: no bucket, no upload, no operation. Otherwise it asks,
makes the artifact buckets and uploads what they lack in every region of `region_order`, and
only then starts the stack set operations, each watched to its end with per-region progress.
`status` lists the instances with their status and drift status; `destroy` removes the
instances, then the stack set, and keeps the artifact buckets (and says so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ops.config import Config
from ops.deploy.bootstrap import account_id, bucket_name
from ops.deploy.org import StackSetArtifacts, StackSetRequest, organization_id
from ops.deploy.stackset import Operation, StackSetPlan, StackSetRun, list_instances
from ops.deploy.summary import Console
from ops.errors import EXIT_OK, OpsError, TimedOut
from ops.models.targets import Targets

OUTCOME_CODES = {"created": EXIT_OK, "updated": EXIT_OK, "no changes": EXIT_OK}


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def describe_plan(name: str, plan: StackSetPlan, targets: Targets) -> str:
    """The question before the operation: what it will do, and where."""
    steps = []
    if plan.create:
        steps.append(f"create stack set {name}")
    if plan.update:
        steps.append(f"update stack set {name} and its instances")
    if plan.add_instances:
        who = (
            f"the accounts of {', '.join(targets.organizational_units)}"
            if targets.service_managed
            else f"{len(targets.accounts)} accounts"
        )
        steps.append(f"add the instances missing in {who} x {', '.join(targets.region_order)}")
    text = "; ".join(steps)
    return text[0].upper() + text[1:] + "?"


@dataclass
class OrgDeploy:
    """The stack set of a config, worked on from `region` (where the stack set lives)."""

    config: Config
    region: str
    client: Callable[[str, str], Any]  # (service, region) -> client
    console: Console
    confirm: Callable[[str], bool] = lambda _q: True
    timeout: float = 3600.0
    delay: float = 5.0
    endpoint_url: str | None = None
    sleep: Callable[[float], None] | None = None
    report: dict[str, Any] = field(default_factory=dict)  # what the last command did, for --json

    def run(self, request: StackSetRequest, account: str) -> StackSetRun:
        cfn = self.client("cloudformation", self.region)
        operation = Operation(
            cfn, request.name, self.console.line, delay=self.delay, timeout=self.timeout
        )
        if self.sleep is not None:
            operation.sleep = self.sleep
        return StackSetRun(
            cfn,
            request.name,
            request.targets,
            account,
            operation,
            partition=partition_of(self.region),
        )

    def plan(self) -> tuple[StackSetRequest, StackSetRun, StackSetPlan]:
        """Render once and read what there is (GetCallerIdentity, DescribeStackSet,
        ListStackInstances): the plan `apply` executes and `ops plan --org` shows."""
        request = StackSetRequest.from_config(self.config)  # config errors before any call
        self._warn(request)
        run = self.run(request, account_id(self.client("sts", self.region)))
        plan = run.plan(request.body, request.parameters(run.admin_account))
        for stale_account, stale_region in sorted(plan.stale):
            self.console.line(
                f"warning: instance {stale_account} {stale_region} is no longer in [targets]: "
                "kept (ops destroy --org removes every instance)"
            )
        self.report = {
            "stack_set": request.name,
            "region": self.region,
            "create": plan.create,
            "update": plan.update,
            "add_instances": plan.add_instances,
            "stale": [list(pair) for pair in sorted(plan.stale)],
        }
        return request, run, plan

    def show_plan(self) -> StackSetPlan:
        """`ops plan --org`: what `apply` would do, said on stderr; changes nothing."""
        request, _run, plan = self.plan()
        if plan.nothing:
            self.console.line(f"stack set {request.name}: no changes (no operation would start)")
        else:
            self.console.line(describe_plan(request.name, plan, request.targets).rstrip("?"))
        return plan

    def apply(self) -> str:
        """ "created", "updated" or "no changes"; a failed or timed-out operation raises."""
        request, run, plan = self.plan()
        parameters = request.parameters(run.admin_account)
        self.report["uploaded"] = {}
        if plan.nothing:
            return self._finish(run, run.execute(plan, request.body, parameters, []))
        if not self.confirm(describe_plan(request.name, plan, request.targets)):
            raise OpsError(f"stack set {request.name}: not applied (declined)")
        artifacts = self.artifacts(request, run.admin_account)
        self.report["uploaded"] = artifacts.prepare(request.code_keys)
        url = None
        if not request.inline:
            url = artifacts.template_url(request.body, self.region, self.endpoint_url)
        outcome = run.execute(plan, request.body, parameters, request.capabilities, url)
        return self._finish(run, outcome)

    def artifacts(self, request: StackSetRequest, account: str) -> StackSetArtifacts:
        org_id = None
        if request.targets.service_managed:
            org_id = organization_id(self.client("organizations", self.region))
        return StackSetArtifacts(
            lambda region: self.client("s3", region),
            account,
            request.targets,
            self.console,
            org_id=org_id,
            partition=partition_of(self.region),
        )

    def status(self) -> list[dict[str, Any]]:
        """The instances, each with its status, detailed status, reason and drift status
        (None where the API leaves it out, as moto does)."""
        request = StackSetRequest.from_config(self.config)
        cfn = self.client("cloudformation", self.region)
        instances = list_instances(cfn, request.name)
        if instances is None:
            raise OpsError(
                f"stack set {request.name} does not exist in {self.region}: "
                f"run ops apply --org --region {self.region}"
            )
        return [
            {
                "stack_set": request.name,
                "account": i["Account"],
                "region": i["Region"],
                "status": i.get("Status"),
                "detailed_status": i.get("StackInstanceStatus", {}).get("DetailedStatus"),
                "reason": i.get("StatusReason"),
                "drift_status": i.get("DriftStatus"),
                "drift_checked": _iso(i.get("LastDriftCheckTimestamp")),
            }
            for i in instances
        ]

    def destroy(self) -> str:
        """ "deleted" or "nothing to delete"; the artifact buckets are kept and named."""
        request = StackSetRequest.from_config(self.config)
        account = account_id(self.client("sts", self.region))
        run = self.run(request, account)
        if not self.confirm(f"Delete every instance of stack set {request.name}, then the set?"):
            raise OpsError(f"stack set {request.name}: not deleted (declined)")
        self.report = {"stack_set": request.name, "region": self.region}
        outcome = self._finish(run, run.destroy())
        kept = [bucket_name(None, account, r) for r in request.targets.region_order]
        self.report["kept_buckets"] = kept
        self.console.line(
            f"Kept the artifact buckets {', '.join(kept)}: this account's own stacks read code "
            "from the same buckets; delete one with aws s3 rb --force s3://NAME when nothing does"
        )
        return outcome

    def _finish(self, run: StackSetRun, outcome: str) -> str:
        self.report.update(outcome=outcome, operations=list(run.started))
        if outcome in OUTCOME_CODES or outcome in ("deleted", "nothing to delete"):
            if outcome != "no changes":  # the executor has said so, with "no operation started"
                self.console.line(f"stack set {run.name}: {outcome}")
            return outcome
        if outcome == "TIMED_OUT":
            raise TimedOut(
                f"stack set {run.name}: still running after {self.timeout:.0f} s "
                f"(operation {run.started[-1]}); StackSets keeps going: see ops status --org"
            )
        raise OpsError(
            f"stack set {run.name}: operation {run.started[-1]} {outcome} (each failed "
            "instance's reason is above); fix it and run ops apply --org again"
        )

    def _warn(self, request: StackSetRequest) -> None:
        for key in request.left_out:
            self.console.line(
                f"warning: [{key}] is not part of the stack set (its buckets are global names "
                "and its stacks differ per region): deploy it with ops apply --region"
            )
        for found in request.literals():
            self.console.line(
                f"warning: the template names an account or region literally, at {found}: "
                "every instance gets the same value"
            )


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else value


def instance_line(instance: Mapping[str, Any]) -> str:
    """`111111111111  eu-west-1  CURRENT (SUCCEEDED)  drift NOT_CHECKED`."""
    detail = f" ({instance['detailed_status']})" if instance.get("detailed_status") else ""
    drift = instance.get("drift_status") or "not reported"
    reason = f"  {instance['reason']}" if instance.get("reason") else ""
    return (
        f"{instance['account']}  {instance['region']}  {instance['status']}{detail}  "
        f"drift {drift}{reason}"
    )
