"""`target = "lambda-versions"`: delete old published versions nothing uses any more.

Selection: with `tags`, the Resource Groups Tagging API (`GetResources`, 100 functions a call and
not counted against Lambda's control-plane limit); without, `ListFunctions` (50 a call). Both are
then filtered by `function_prefix`. The alternative, `ListFunctions` + one `ListTags` per
function, costs one control-plane call per function in the account just to find the tagged ones.

Per selected function: `ListVersionsByFunction`, `ListAliases` (target version and the extra
versions of weighted routing) and `ListProvisionedConcurrencyConfigs`; event source mappings come
from one account-wide `ListEventSourceMappings` listing (mappings may name a version ARN), which
is cheaper than one filtered call per version. Never deleted: `$LATEST`, a version an alias or
its routing points at, the previous version the deployer recorded on an alias (the rollback
target of `ops rollback`), one with provisioned concurrency, one an event source mapping invokes,
the `keep` newest, and any modified less than `older_than` ago.

Every Lambda call goes through a token bucket at `max_rate` (default 5/s, at most 10/s: the
account's ~15/s is shared with deploys) and is retried with back-off when throttled. Candidates
are deleted oldest first after everything is planned, so the caps see the whole examined set.
A version Lambda refuses to delete by design is kept with the reason, not failed, so it does not
fail every run: one of a Lambda@Edge function with replicas ("replicated", until CloudFront has
removed them) and one Lambda reports in conflict ("conflict", e.g. in use by an operation in
progress; the next run tries again). Any other error is a failure.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from functions.purge.pacing import Clock, PacedClient, error_code
from functions.purge.planning import Deletion, TargetRun, parse_time
from functions.purge.report import PurgeReport
from functions.purge.settings import PacedSettings
from functions.runtime.budget import TimeBudget

TARGET = "lambda-versions"  # the purge target this module runs (functions.runtime.registry)
# A function deleted between selection and listing (the tagging API lags) is simply skipped.
GONE = frozenset({"ResourceNotFoundException"})
# "... unable to delete arn:...:function:NAME:3 because it is a replicated function."
REPLICATED = re.compile(r"\breplica", re.IGNORECASE)


@dataclass(frozen=True)
class Version:
    function: str
    number: int
    arn: str
    modified: datetime


@dataclass(frozen=True, kw_only=True)
class LambdaVersionsSettings(PacedSettings):
    """A lambda-versions job's `$OPS_JOB` (ops/models/purge.py::LambdaVersionsPurge)."""

    function_prefix: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    keep: int = 3


Settings = LambdaVersionsSettings  # the job's view (functions/purge/handler.py reads it)


def run(
    job: LambdaVersionsSettings,
    *,
    now: datetime,
    budget: TimeBudget,
    event: dict[str, Any],
    lambda_client: Any = None,
    tagging_client: Any = None,
    clock: Clock | None = None,
) -> PurgeReport:
    purge = TargetRun.start(job, TARGET, event, cursor_keys=("function",), clock=clock)
    lam = purge.paced(lambda_client, "lambda")
    # The tagging API has its own limits, apart from Lambda's control plane: retried, not paced.
    tagging = purge.paced(tagging_client, "resourcegroupstaggingapi", bucket=False)
    names = [n for n in select(job, lam, tagging) if n >= purge.cursor.get("function", "")]
    mapped = mapped_versions(lam)
    planned, unplanned = plan(job, names, lam, mapped, now, budget, purge.report)
    execute(purge, planned, unplanned, lam, budget)
    return purge.report


def select(job: LambdaVersionsSettings, lam: PacedClient, tagging: PacedClient) -> list[str]:
    """Names of the selected functions, sorted (the order a continued run resumes in)."""
    prefix, tags = job.function_prefix, job.tags
    names: set[str] = set()
    if tags:
        filters = [{"Key": k, "Values": [v]} for k, v in sorted(tags.items())]
        for page in tagging.pages(
            "get_resources",
            token="PaginationToken",
            next_token="PaginationToken",
            ResourceTypeFilters=["lambda:function"],
            TagFilters=filters,
        ):
            names.update(split_arn(m["ResourceARN"])[0] for m in page["ResourceTagMappingList"])
    else:
        for page in lam.pages("list_functions"):
            names.update(f["FunctionName"] for f in page["Functions"])
    return sorted(n for n in names if n.startswith(prefix))


def split_arn(arn: str) -> tuple[str, str | None]:
    """`arn:aws:lambda:R:A:function:NAME[:QUALIFIER]` -> (NAME, QUALIFIER or None)."""
    parts = arn.split(":")
    return parts[6], parts[7] if len(parts) > 7 else None


def mapped_versions(lam: PacedClient) -> dict[str, set[str]]:
    """Function name -> qualifiers (versions or aliases) that an event source mapping invokes."""
    used: dict[str, set[str]] = defaultdict(set)
    for page in lam.pages("list_event_source_mappings"):
        for mapping in page["EventSourceMappings"]:
            name, qualifier = split_arn(mapping["FunctionArn"])
            if qualifier:
                used[name].add(qualifier)
    return used


def plan(
    job: LambdaVersionsSettings,
    names: list[str],
    lam: PacedClient,
    mapped: dict[str, set[str]],
    now: datetime,
    budget: TimeBudget,
    report: PurgeReport,
) -> tuple[list[Version], list[str]]:
    """Candidates of as many functions as half the remaining time allows, and the rest."""
    cutoff, keep = now - job.age, job.keep
    stop_at = budget.left() / 2  # the other half is for deleting what was planned
    candidates: list[Version] = []
    for index, name in enumerate(names):
        if budget.left() <= stop_at:
            return candidates, names[index:]
        candidates += examine(name, lam, mapped.get(name, set()), keep, cutoff, report)
    return candidates, []


def examine(
    name: str, lam: PacedClient, mapped: set[str], keep: int, cutoff: datetime, report: PurgeReport
) -> list[Version]:
    """One function's deletable versions; the others are counted as kept, by reason."""
    from botocore.exceptions import ClientError

    try:
        versions = published_versions(name, lam)
        reasons = protections(name, lam, mapped)
    except ClientError as exc:
        # Without the full picture of what uses a version, none of this function's is deleted.
        if error_code(exc) not in GONE:
            report.fail(name, error_code(exc), str(exc)[:300])
        return []
    report.examined += len(versions)
    newest = {v.number for v in versions[-keep:]} if keep else set()
    candidates = []
    for version in versions:
        reason = reasons.get(str(version.number))
        if reason is None and version.number in newest:
            reason = "newest"
        if reason is None and version.modified >= cutoff:
            reason = "younger-than-cutoff"
        if reason:
            report.keep(reason)
        else:
            candidates.append(version)
    return candidates


def published_versions(name: str, lam: PacedClient) -> list[Version]:
    """Every published version of `name`, oldest first ($LATEST is not a published version)."""
    found = [
        Version(name, int(v["Version"]), v["FunctionArn"], parse_time(v["LastModified"]))
        for page in lam.pages("list_versions_by_function", FunctionName=name)
        for v in page["Versions"]
        if v["Version"] != "$LATEST"
    ]
    return sorted(found, key=lambda v: v.number)


def protections(name: str, lam: PacedClient, mapped: set[str]) -> dict[str, str]:
    """Version -> why it must stay. Later rules win, so an aliased version says "alias"."""
    reasons = dict.fromkeys(mapped, "event-source-mapping")
    for page in lam.pages("list_provisioned_concurrency_configs", FunctionName=name):
        for config in page["ProvisionedConcurrencyConfigs"]:
            qualifier = split_arn(config["FunctionArn"])[1]
            if qualifier:
                reasons[qualifier] = "provisioned-concurrency"
    for page in lam.pages("list_aliases", FunctionName=name):
        for alias in page["Aliases"]:
            weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            reasons.update(dict.fromkeys(weights, "alias-routing"))
            target = rollback_target(alias.get("Description"))
            if target:
                reasons[target] = "rollback-target"
            reasons[alias["FunctionVersion"]] = "alias"
    return reasons


def rollback_target(description: str | None) -> str | None:
    """The version the deployer recorded as an alias's previous one (`ops-deployer version=7
    previous=6 ...`, functions/deployer/layout.py): `ops rollback` moves the alias back to it,
    so it must outlive the purge. Parsed here because the purge's zip carries no deployer code."""
    words = (description or "").split()
    if not words or words[0] != "ops-deployer":
        return None
    values = dict(w.partition("=")[::2] for w in words[1:] if "=" in w)
    return values.get("previous") or None


def execute(
    purge: TargetRun,
    candidates: list[Version],
    unplanned: list[str],
    lam: PacedClient,
    budget: TimeBudget,
) -> None:
    """Delete the oldest first, within the caps; say where a continued run picks up."""
    ordered = sorted(candidates, key=lambda v: (v.modified, v.function, v.number))
    allowed, done = purge.delete(
        ordered, partial(_deletion, lam), budget, gone=GONE, undeletable=undeletable
    )
    left = [v.function for v in allowed[done:]] + unplanned[:1]
    if left and purge.report.status != "capped":
        reason = "time budget reached" + (f" before planning {unplanned[0]}" if unplanned else "")
        purge.hand_on(reason, function=min(left))


def undeletable(exc: Exception) -> str | None:
    """Why Lambda refuses to delete a version by design, or None for a genuine error."""
    code = error_code(exc)
    if code == "ResourceConflictException":
        return "conflict"
    message = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Message", ""))
    if code == "InvalidParameterValueException" and REPLICATED.search(message):
        return "replicated"
    return None


def _deletion(lam: PacedClient, version: Version) -> Deletion:
    return Deletion(
        version.arn,
        lambda: lam.call(
            "delete_function", FunctionName=version.function, Qualifier=str(version.number)
        ),
    )
