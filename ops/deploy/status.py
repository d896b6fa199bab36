"""`ops status`: what is deployed in a region - read-only.

The stack's status and last operation, its outputs, and each function it holds with its alias
targets and when its code or configuration last changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ops.deploy.plan import StackState, read_stack
from ops.errors import OpsError


@dataclass(frozen=True)
class FunctionStatus:
    logical_id: str
    name: str
    last_modified: str
    code_sha256: str
    aliases: tuple[tuple[str, str], ...]  # (alias, version it points to)


@dataclass(frozen=True)
class StackReport:
    state: StackState
    functions: tuple[FunctionStatus, ...]

    def to_dict(self) -> dict[str, Any]:
        s = self.state
        return {
            "stack": s.name,
            "region": s.region,
            "status": s.status,
            "reason": s.reason,
            "last_operation": _stamp(s.updated or s.created),
            "termination_protection": s.termination_protection,
            "outputs": dict(s.outputs),
            "functions": [
                {
                    "logical_id": f.logical_id,
                    "name": f.name,
                    "last_modified": f.last_modified,
                    "code_sha256": f.code_sha256,
                    "aliases": dict(f.aliases),
                }
                for f in self.functions
            ],
        }


def stack_report(cfn: Any, lam: Any, stack: str, region: str) -> StackReport:
    state = read_stack(cfn, stack, region)
    if not state.exists:
        raise OpsError(f"stack {stack} does not exist in {region}: run ops apply --region {region}")
    functions = tuple(_function(lam, lid, name) for lid, name in _functions(cfn, stack))
    return StackReport(state, functions)


def _functions(cfn: Any, stack: str) -> list[tuple[str, str]]:
    found = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for res in page["StackResourceSummaries"]:
            if res.get("ResourceType") == "AWS::Lambda::Function" and res.get("PhysicalResourceId"):
                found.append((res["LogicalResourceId"], res["PhysicalResourceId"]))
    return sorted(found)


def _function(lam: Any, logical_id: str, name: str) -> FunctionStatus:
    config = lam.get_function_configuration(FunctionName=name)
    aliases = [
        (a["Name"], a["FunctionVersion"])
        for page in lam.get_paginator("list_aliases").paginate(FunctionName=name)
        for a in page["Aliases"]
    ]
    return FunctionStatus(
        logical_id=logical_id,
        name=name,
        last_modified=str(config.get("LastModified", "")),
        code_sha256=str(config.get("CodeSha256", "")),
        aliases=tuple(sorted(aliases)),
    )


def report_lines(report: StackReport) -> list[str]:
    s = report.state
    lines = [
        f"Stack {s.name} in {s.region}: {s.status}",
        f"  last operation: {s.status} at {_stamp(s.updated or s.created)}"
        + (f" ({s.reason})" if s.reason else ""),
        f"  termination protection: {'on' if s.termination_protection else 'off'}",
    ]
    if s.outputs:
        lines.append("Outputs:")
        lines += [f"  {k} = {v}" for k, v in s.outputs]
    lines.append("Functions:" if report.functions else "Functions: none")
    for f in report.functions:
        aliases = ", ".join(f"{a} -> {v}" for a, v in f.aliases) or "no aliases"
        lines.append(f"  {f.name}  last modified {f.last_modified}  {aliases}")
    return lines


def _stamp(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "unknown"
